# SigningTable (refile:): wildcard patterns, tried in file order

ceo@example.com         rsa-example
*@example.com           rsa-example
*@example.com           ed-example
*@*.example.com         sub-example
*                       any-domain

-- miltertest script: one message through cachet-milterd on the socket given
-- in the environment (CACHET_SOCKET); expects our AR field inserted at the
-- top and the forged one (authserv-id mx.test.example) deleted.
local sock = os.getenv("CACHET_SOCKET")
local conn = mt.connect(sock, 20, 0.25)
if conn == nil then error("cannot connect to " .. sock) end
if mt.conninfo(conn, "client.example", "203.0.113.5") ~= nil then error("conninfo failed") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("conninfo: unexpected reply") end
-- HELO first: libmilter clears MAIL macros when HELO arrives after them
if mt.helo(conn, "client.example") ~= nil then error("helo failed") end
mt.macro(conn, SMFIC_MAIL, "i", "MT0001")
if mt.mailfrom(conn, "<user@example.com>") ~= nil then error("mailfrom failed") end
-- the milter declines RCPT (SMFIP_NORCPT) while no check reads recipients
if not mt.test_option(conn, SMFIP_NORCPT) then
	if mt.rcptto(conn, "<rcpt@example.net>") ~= nil then error("rcptto failed") end
end
if mt.header(conn, "From", "user@example.com") ~= nil then error("header failed") end
if mt.header(conn, "Authentication-Results", "mx.test.example; dkim=pass") ~= nil then
	error("header failed")
end
if mt.header(conn, "Authentication-Results", "other.example; spf=pass") ~= nil then
	error("header failed")
end
if mt.eoh(conn) ~= nil then error("eoh failed") end
-- the milter declines the body step (SMFIP_NOBODY) while no check needs it
if not mt.test_option(conn, SMFIP_NOBODY) then
	if mt.bodystring(conn, "hello\r\n") ~= nil then error("body failed") end
end
if mt.eom(conn) ~= nil then error("eom failed") end
if mt.getreply(conn) ~= SMFIR_CONTINUE and mt.getreply(conn) ~= SMFIR_ACCEPT then
	error("eom: unexpected reply")
end
-- under SMFIP_HDR_LEADSPC the value carries the space after the colon
local want = "mx.test.example; dkim=none (message not signed)"
if mt.test_option(conn, SMFIP_HDR_LEADSPC) then want = " " .. want end
if not mt.eom_check(conn, MT_HDRINSERT, "Authentication-Results", want, 0) then
	error("our Authentication-Results was not inserted at index 0")
end
if not mt.eom_check(conn, MT_HDRDELETE, "Authentication-Results") then
	error("the forged Authentication-Results was not deleted")
end
mt.disconnect(conn)

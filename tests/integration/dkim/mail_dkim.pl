#!/usr/bin/perl
# Mail::DKIM (Debian libmail-dkim-perl) as a DKIM peer for the integration
# tests.
#
#   mail_dkim.pl sign --key PEM --domain D --selector S [--canon H/B]
#                [--alg rsa-sha256] [--oversign-from] FILE
#       print FILE with Mail::DKIM's DKIM-Signature on top, with FILE's
#       line ends.  Headers signed: Mail::DKIM's default list (those
#       present); --oversign-from signs From once more than present.
#       The key must be PKCS#1 PEM (Mail::DKIM rewraps it as such).
#   mail_dkim.pl verify --dns-port PORT FILE
#       verify every DKIM-Signature of FILE, keys looked up over DNS at
#       127.0.0.1:PORT (the harness's NSD); print "N RESULT (DETAIL)" per
#       signature, N from 0 top first; exit 0 iff there is at least one
#       signature and all pass.
#
# Limits: Mail::DKIM 1.20230212 (Debian 12) has no ed25519-sha256 for
# DKIM-Signature (only RSA), so Ed25519 is not offered here.
use strict;
use warnings;
use Getopt::Long qw(GetOptionsFromArray);
use Mail::DKIM::Signer;
use Mail::DKIM::Verifier;
use Mail::DKIM::DNS;
use Net::DNS::Resolver;

sub slurp {
    my ($path) = @_;
    open my $fh, '<:raw', $path or die "$path: $!\n";
    local $/;
    my $s = <$fh>;
    close $fh;
    return $s;
}

# Mail::DKIM wants SMTP line ends.
sub feed {
    my ( $dkim, $msg ) = @_;
    ( my $crlf = $msg ) =~ s/\r?\n/\r\n/g;
    $dkim->PRINT($crlf);
    $dkim->CLOSE;
}

sub cmd_sign {
    my @argv = @_;
    my %o = ( canon => 'relaxed/relaxed', alg => 'rsa-sha256' );
    GetOptionsFromArray( \@argv, \%o, 'key=s', 'domain=s', 'selector=s',
        'canon=s', 'alg=s', 'oversign-from' )
      or die "bad options\n";
    my $file = shift @argv or die "no file\n";
    my $msg  = slurp($file);
    my $dkim = Mail::DKIM::Signer->new(
        Algorithm => $o{alg},
        Method    => $o{canon},
        Domain    => $o{domain},
        Selector  => $o{selector},
        KeyFile   => $o{key},
    );
    $dkim->extended_headers( { From => '+' } ) if $o{'oversign-from'};
    feed( $dkim, $msg );
    my $sig = $dkim->signature or die "Mail::DKIM made no signature\n";
    my $field = $sig->as_string;
    $field =~ s/\r?\n/\r\n/g;
    my $nl = ( $msg =~ /\A[^\n]*\r\n/ ) ? "\r\n" : "\n";
    $field =~ s/\r\n/$nl/g;
    print $field, $nl, $msg;
    return 0;
}

sub cmd_verify {
    my @argv = @_;
    my %o;
    GetOptionsFromArray( \@argv, \%o, 'dns-port=i' ) or die "bad options\n";
    my $file = shift @argv or die "no file\n";
    my $res = Net::DNS::Resolver->new(
        nameservers => ['127.0.0.1'],
        port        => $o{'dns-port'},
        recurse     => 0,
        retry       => 3,
        tcp_timeout => 5,
        udp_timeout => 5,
    );
    Mail::DKIM::DNS::resolver($res);
    my $dkim = Mail::DKIM::Verifier->new;
    feed( $dkim, slurp($file) );
    my @sigs = $dkim->signatures;
    my $ok = @sigs > 0;
    my $i  = 0;
    for my $s (@sigs) {
        my $r = $s->result;
        printf "%d %s\n", $i++, $s->result_detail;
        $ok = 0 unless $r eq 'pass';
    }
    print "no signature\n" unless @sigs;
    return $ok ? 0 : 1;
}

my $cmd = shift @ARGV // '';
exit cmd_sign(@ARGV)   if $cmd eq 'sign';
exit cmd_verify(@ARGV) if $cmd eq 'verify';
die "usage: mail_dkim.pl sign|verify ...\n";

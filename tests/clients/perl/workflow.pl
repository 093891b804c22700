#!/usr/bin/perl
# The client-matrix workflow with SOAP::WSDL's generated classes (Debian libsoap-wsdl-perl).
#   wsdl2perl -b lib file:///path/condorSchedd.wsdl; wsdl2perl -b lib file:///path/condorCollector.wsdl
#   perl -Ilib workflow.pl URL
# wsdl2perl never finishes on the WSDLs as they are (Status.next is a Status: it recurses
# without end), so the suite generates from a copy without Status.next; see toolchains.py.
# Same steps as examples/zeep_workflow.py; prints "OK" last or exits 1 with the reason.
# With credentials: CONDOR_SOAP_USER=alice CONDOR_SOAP_PASSWORD=... perl -Ilib workflow.pl URL
# (HTTP Basic via SOAP::WSDL::Transport::HTTP::get_basic_credentials, as its Cookbook says: LWP
# answers the first 401 challenge of each service, then sends it preemptively to that URL).
use strict;
use warnings;
use MIME::Base64;
use Time::HiRes qw(sleep time);
use MyInterfaces::condorSchedd::condorSchedd;
use MyInterfaces::condorCollector::condorCollector;

my $CHUNK = 64 * 1024;
my $SCRIPT = "#!/bin/sh\ncp input.bin output.bin\ntr a-z A-Z < input.txt > output.txt\n";
my $TEXT = "Hello from a condor-soap client.\nThe job upper-cases this line.\n";

my $url = $ARGV[0];
my $owner = $ENV{CONDOR_SOAP_OWNER} || getpwuid($<);
# proxy: the endpoint (the WSDL's soap:address is not used)
my $schedd = MyInterfaces::condorSchedd::condorSchedd->new({ proxy => $url });
my $collector = MyInterfaces::condorCollector::condorCollector->new({ proxy => $url });
if ($ENV{CONDOR_SOAP_USER}) {  # the LWP transport without SOAP::Lite (as here), and with it
    no strict 'refs';
    for my $class (qw(SOAP::WSDL::Transport::HTTP SOAP::Transport::HTTP::Client)) {
        *{"${class}::get_basic_credentials"} = sub { return ($ENV{CONDOR_SOAP_USER}, $ENV{CONDOR_SOAP_PASSWORD} // '') };
    }
}

sub fail { print "FAILED: $_[0]\n"; exit 1 }

# call an operation; a SOAP fault comes back as a false object; the answer's <response>
sub call {
    my ($op, $args) = @_;
    my $answer = $schedd->$op($args || {});
    fail("$op: $answer") unless $answer;
    return $answer->get_response;
}

sub check {
    my ($status, $what) = @_;
    my $code = $status->get_code;
    fail("$what: $code " . ($status->get_message || '')) unless "$code" eq 'SUCCESS';
}

# an array element's items: one item is the item itself, several an array ref, none undef
sub items {
    my ($array) = @_;
    return () unless $array;
    my $item = $array->get_item;
    return () unless defined $item;
    return ref $item eq 'ARRAY' ? @$item : ($item);
}

sub attrs {
    my %map = map { ($_->get_name->get_value => ($_->get_value->get_value // '')) } items($_[0]);
    return \%map;
}

# a Transaction from an answer, as a request wants it
sub txn { my $t = $_[0]; return { id => $t->get_id->get_value, duration => $t->get_duration->get_value } }

sub upload {
    my ($txn, $cluster, $proc, $name, $data) = @_;
    my %job = (transaction => $txn, clusterId => $cluster, jobId => $proc, name => $name);
    check(call('declareFile', { %job, size => length $data, hashType => 'NOHASH' }), "declareFile $name");
    for (my $offset = 0; $offset < length $data; $offset += $CHUNK) {
        # a base64Binary is given as its base64 text
        my $chunk = encode_base64(substr($data, $offset, $CHUNK), '');
        check(call('sendFile', { %job, offset => $offset, data => $chunk }), "sendFile $name");
    }
}

sub download {
    my ($cluster, $proc, $name, $size) = @_;
    my $data = '';
    while (length $data < $size) {
        my $got = call('getFile', { clusterId => $cluster, jobId => $proc, name => $name, offset => length $data,
                                    length => ($size - length $data < $CHUNK ? $size - length $data : $CHUNK) });
        check($got->get_status, "getFile $name");
        my $chunk = decode_base64($got->get_data->get_value // '');
        fail("getFile $name: no data") unless length $chunk;
        $data .= $chunk;
    }
    return $data;
}

sub job_status {
    my ($cluster, $proc) = @_;
    my $r = call('getJobAd', { clusterId => $cluster, jobId => $proc });
    return 'gone' if $r->get_status->get_code eq 'UNKNOWNJOB';
    check($r->get_status, 'getJobAd');
    return attrs($r->get_classAd)->{JobStatus};
}

sub wait_status {
    my ($cluster, $proc, @wanted) = @_;
    my $deadline = time + 120;
    while (1) {
        my $status = job_status($cluster, $proc);
        return $status if grep { $_ eq $status } @wanted;
        fail("job $cluster.$proc was held") if $status eq '5';
        fail("job $cluster.$proc stays in JobStatus $status") if time > $deadline;
        sleep 0.25;
    }
}

sub job_ads {
    my ($constraint) = @_;
    my $r = call('getJobAds', { constraint => $constraint });
    check($r->get_status, "getJobAds $constraint");
    return items($r->get_classAdArray);
}

sub new_job {
    my ($txn, $cluster, $cmd, $args) = @_;
    my $job = call('newJob', { transaction => $txn, clusterId => $cluster });
    check($job->get_status, 'newJob');
    my $proc = $job->get_integer->get_value;
    my $t = call('createJobTemplate', { clusterId => $cluster, jobId => $proc, owner => $owner, type => 'VANILLA',
                                        cmd => $cmd, (defined $args ? (args => $args) : ()) });
    check($t->get_status, 'createJobTemplate');
    my @items = map { { name => $_->get_name->get_value, type => $_->get_type->get_value,
                        value => $_->get_value->get_value // '' } } items($t->get_classAd);
    return ($proc, { item => \@items });
}

my $version = call('getVersionString');
check($version->get_status, 'getVersionString');
my $message = $version->get_message->get_value;
fail("getVersionString: $message") unless $message =~ /^\$CondorVersion:/;
print "getVersionString -> $message\n";

my $begun = call('beginTransaction', { duration => 60 });
check($begun->get_status, 'beginTransaction');
my $txn = txn($begun->get_transaction);
my $c = call('newCluster', { transaction => $txn });
check($c->get_status, 'newCluster');
my $cluster = $c->get_integer->get_value;
my ($proc, $ad) = new_job($txn, $cluster, 'job.sh', undef);
my $binary = join '', map { chr(($_ * 7 + ($_ >> 8)) & 0xff) } 0 .. 3 * $CHUNK + 4320;
upload($txn, $cluster, $proc, 'job.sh', $SCRIPT);
upload($txn, $cluster, $proc, 'input.txt', $TEXT);
upload($txn, $cluster, $proc, 'input.bin', $binary);
check(call('submit', { transaction => $txn, clusterId => $cluster, jobId => $proc, jobAd => $ad })->get_status, 'submit');
check(call('commitTransaction', { transaction => $txn }), 'commitTransaction');
print "submitted job $cluster.$proc with 3 files\n";

print 'JobStatus ', wait_status($cluster, $proc, '4'), "\n";
my $spool = call('listSpool', { clusterId => $cluster, jobId => $proc });
check($spool->get_status, 'listSpool');
my %sizes = map { ($_->get_name->get_value => $_->get_size->get_value) } items($spool->get_info);
print "listSpool -> ", join(', ', map { "$_=$sizes{$_}" } sort keys %sizes), "\n";
fail('outputs missing from the spool') unless exists $sizes{'output.bin'} && exists $sizes{'output.txt'};
fail('output.bin differs from input.bin') unless download($cluster, $proc, 'output.bin', $sizes{'output.bin'}) eq $binary;
my $upper = download($cluster, $proc, 'output.txt', $sizes{'output.txt'});
fail("output.txt is $upper") unless $upper eq uc $TEXT;
check(call('closeSpool', { clusterId => $cluster, jobId => $proc }), 'closeSpool');
print "outputs verified, spool closed\n";

$txn = txn(call('beginTransaction', { duration => 60 })->get_transaction);
my $sleepers = call('newCluster', { transaction => $txn })->get_integer->get_value;
for (1 .. 2) {
    my ($j, $t) = new_job($txn, $sleepers, '/bin/sleep', '300');
    check(call('submit', { transaction => $txn, clusterId => $sleepers, jobId => $j, jobAd => $t })->get_status, 'submit');
}
check(call('commitTransaction', { transaction => $txn }), 'commitTransaction');
my %first = (clusterId => $sleepers, jobId => 0, email_user => 'false', email_admin => 'false');
check(call('holdJob', { %first, reason => 'held', system_hold => 'false' }), 'holdJob');
print 'held: JobStatus ', wait_status($sleepers, 0, '5'), "\n";
check(call('releaseJob', { %first, reason => 'released' }), 'releaseJob');
print 'released: JobStatus ', wait_status($sleepers, 0, '1', '2'), "\n";
check(call('removeJob', { clusterId => $sleepers, jobId => 0, reason => 'removed', force_removal => 'false' }), 'removeJob');
print 'removed: ', wait_status($sleepers, 0, '3', 'gone'), "\n";

my @ads = job_ads("ClusterId == $sleepers && ProcId == 1");
fail('getJobAds: ' . scalar(@ads) . ' ads') unless @ads == 1 && attrs($ads[0])->{ProcId} eq '1';
check(call('removeCluster', { clusterId => $sleepers, reason => 'removed by the client' }), 'removeCluster');
my $deadline = time + 60;
while (job_ads("ClusterId == $sleepers && JobStatus != 3")) {
    fail('removeCluster: jobs left') if time > $deadline;
    sleep 0.25;
}
print "cluster $sleepers removed\n";

my $startds = $collector->queryStartdAds({ constraint => '' }) or fail('queryStartdAds: fault');
my $schedds = $collector->queryScheddAds({ constraint => 'HasSOAPInterface =?= TRUE' }) or fail('queryScheddAds: fault');
my @startds = items($startds->get_result);
my @schedds = items($schedds->get_result);
fail('collector: no ads') unless @startds && @schedds;
print 'collector: ', scalar(@startds), ' startd ads, ', scalar(@schedds), " schedd ads\n";
print "OK\n";

<?php
// The condor-soap workflow with PHP's SoapClient (apt-get install php-cli php-soap):
//
//   php condor_workflow.php http://127.0.0.1:8080/ [condorSchedd.wsdl condorCollector.wsdl]
//
// The WSDLs default to the ones the service serves; the original HTCondor WSDLs work the same.
// Submits a job with a script, a text file and a binary file (64 KiB chunks), waits for it,
// fetches and compares its output, then holds, releases and removes a sleep job, removes its
// cluster and queries the collector. Prints "OK" last, or exits 1 with the reason.
// The job's Owner is $CONDOR_SOAP_OWNER or the current user. With credentials:
//   CONDOR_SOAP_USER=alice CONDOR_SOAP_PASSWORD=... php condor_workflow.php http://127.0.0.1:8080/
// sends HTTP Basic auth on every call, preemptively (SoapClient's 'login' and 'password' options).

const CHUNK = 65536;
const SCRIPT = "#!/bin/sh\ncp input.bin output.bin\ntr a-z A-Z < input.txt > output.txt\n";
const TEXT = "Hello from a condor-soap client.\nThe job upper-cases this line.\n";

function fail($why) {
    echo "FAILED: $why\n";
    exit(1);
}

// every schedd answer carries a Status; anything but SUCCESS ends the program
function check($status, $what) {
    if ($status->code !== 'SUCCESS') fail("$what: $status->code " . ($status->message ?? ''));
}

// a list of the items of an array element (null when the array is empty)
function items($array) {
    return $array && isset($array->item) ? $array->item : [];
}

function attrs($ad) {
    $map = [];
    foreach (items($ad) as $a) $map[$a->name] = $a->value;
    return $map;
}

function upload($schedd, $txn, $cluster, $proc, $name, $data) {
    $job = ['transaction' => $txn, 'clusterId' => $cluster, 'jobId' => $proc, 'name' => $name];
    check($schedd->declareFile($job + ['size' => strlen($data), 'hashType' => 'NOHASH'])->response, "declareFile $name");
    for ($offset = 0; $offset < strlen($data); $offset += CHUNK) {
        // SoapClient base64-encodes a string sent as xsd:base64Binary
        $sent = $schedd->sendFile($job + ['offset' => $offset, 'data' => substr($data, $offset, CHUNK)]);
        check($sent->response, "sendFile $name");
    }
}

function download($schedd, $cluster, $proc, $name, $size) {
    $data = '';
    while (strlen($data) < $size) {
        $got = $schedd->getFile(['clusterId' => $cluster, 'jobId' => $proc, 'name' => $name,
                                 'offset' => strlen($data), 'length' => min(CHUNK, $size - strlen($data))])->response;
        check($got->status, "getFile $name");
        if (!isset($got->data) || $got->data === '') fail("getFile $name: no data");
        $data .= $got->data;
    }
    return $data;
}

// JobStatus of a job, or "gone" once it has left the queue
function job_status($schedd, $cluster, $proc) {
    $r = $schedd->getJobAd(['clusterId' => $cluster, 'jobId' => $proc])->response;
    if ($r->status->code === 'UNKNOWNJOB') return 'gone';
    check($r->status, 'getJobAd');
    return attrs($r->classAd)['JobStatus'];
}

function wait_status($schedd, $cluster, $proc, $wanted) {
    $deadline = time() + 120;
    while (true) {
        $status = job_status($schedd, $cluster, $proc);
        if (in_array($status, $wanted, true)) return $status;
        if ($status === '5') fail("job $cluster.$proc was held");
        if (time() > $deadline) fail("job $cluster.$proc stays in JobStatus $status");
        usleep(250000);
    }
}

function job_ads($schedd, $constraint) {
    $r = $schedd->getJobAds(['constraint' => $constraint])->response;
    check($r->status, "getJobAds $constraint");
    return items($r->classAdArray ?? null);
}

// the template as submit wants it back (a list of name/type/value items)
function new_job($schedd, $txn, $cluster, $owner, $cmd, $args) {
    $job = $schedd->newJob(['transaction' => $txn, 'clusterId' => $cluster])->response;
    check($job->status, 'newJob');
    $t = $schedd->createJobTemplate(['clusterId' => $cluster, 'jobId' => $job->integer, 'owner' => $owner,
                                     'type' => 'VANILLA', 'cmd' => $cmd, 'args' => $args])->response;
    check($t->status, 'createJobTemplate');
    return [$job->integer, $t->classAd];
}

$url = $argv[1];
$schedd_wsdl = $argv[2] ?? $url . 'condorSchedd.wsdl';
$collector_wsdl = $argv[3] ?? $url . 'condorCollector.wsdl';
$owner = getenv('CONDOR_SOAP_OWNER') ?: posix_getpwuid(posix_geteuid())['name'];
// 'location' overrides the WSDL's soap:address (http://localhost:80 in the original);
// SOAP_SINGLE_ELEMENT_ARRAYS keeps a one-item array an array
$options = ['location' => $url, 'cache_wsdl' => WSDL_CACHE_NONE, 'exceptions' => true,
            'features' => SOAP_SINGLE_ELEMENT_ARRAYS];
// HTTP Basic auth when $CONDOR_SOAP_USER is set, else anonymous
$user = (string) getenv('CONDOR_SOAP_USER');
if ($user !== '') {
    $options += ['login' => $user, 'password' => (string) getenv('CONDOR_SOAP_PASSWORD'),
                 'authentication' => SOAP_AUTHENTICATION_BASIC];
}
$schedd = new SoapClient($schedd_wsdl, $options);
$collector = new SoapClient($collector_wsdl, $options);

$version = $schedd->getVersionString()->response;
check($version->status, 'getVersionString');
if (strpos($version->message, '$CondorVersion:') !== 0) fail("getVersionString: $version->message");
echo "getVersionString -> $version->message\n";

// 1. one job with input files, in one transaction
$begun = $schedd->beginTransaction(['duration' => 60])->response;
check($begun->status, 'beginTransaction');
$txn = $begun->transaction;
$c = $schedd->newCluster(['transaction' => $txn])->response;
check($c->status, 'newCluster');
$cluster = $c->integer;
[$proc, $ad] = new_job($schedd, $txn, $cluster, $owner, 'job.sh', null);
$binary = '';
for ($i = 0; $i < 3 * CHUNK + 4321; $i++) $binary .= chr(($i * 7 + ($i >> 8)) & 0xff);
upload($schedd, $txn, $cluster, $proc, 'job.sh', SCRIPT);
upload($schedd, $txn, $cluster, $proc, 'input.txt', TEXT);
upload($schedd, $txn, $cluster, $proc, 'input.bin', $binary);
check($schedd->submit(['transaction' => $txn, 'clusterId' => $cluster, 'jobId' => $proc, 'jobAd' => $ad])->response->status, 'submit');
check($schedd->commitTransaction(['transaction' => $txn])->response, 'commitTransaction');
echo "submitted job $cluster.$proc with 3 files\n";

echo 'JobStatus ' . wait_status($schedd, $cluster, $proc, ['4']) . "\n";
$spool = $schedd->listSpool(['clusterId' => $cluster, 'jobId' => $proc])->response;
check($spool->status, 'listSpool');
$sizes = [];
foreach (items($spool->info) as $f) $sizes[$f->name] = $f->size;
ksort($sizes);
echo 'listSpool -> ' . json_encode($sizes) . "\n";
if (!isset($sizes['output.bin'], $sizes['output.txt'])) fail('outputs missing from the spool');
if (download($schedd, $cluster, $proc, 'output.bin', $sizes['output.bin']) !== $binary) fail('output.bin differs from input.bin');
$upper = download($schedd, $cluster, $proc, 'output.txt', $sizes['output.txt']);
if ($upper !== strtoupper(TEXT)) fail("output.txt is $upper");
check($schedd->closeSpool(['clusterId' => $cluster, 'jobId' => $proc])->response, 'closeSpool');
echo "outputs verified, spool closed\n";

// 2. two sleep jobs: hold, release and remove the first, then remove the whole cluster
$txn = $schedd->beginTransaction(['duration' => 60])->response->transaction;
$sleepers = $schedd->newCluster(['transaction' => $txn])->response->integer;
for ($i = 0; $i < 2; $i++) {
    [$j, $t] = new_job($schedd, $txn, $sleepers, $owner, '/bin/sleep', '300');
    check($schedd->submit(['transaction' => $txn, 'clusterId' => $sleepers, 'jobId' => $j, 'jobAd' => $t])->response->status, 'submit');
}
check($schedd->commitTransaction(['transaction' => $txn])->response, 'commitTransaction');
$first = ['clusterId' => $sleepers, 'jobId' => 0, 'email-user' => false, 'email-admin' => false];
check($schedd->holdJob($first + ['reason' => 'held by the client', 'system-hold' => false])->response, 'holdJob');
echo 'held: JobStatus ' . wait_status($schedd, $sleepers, 0, ['5']) . "\n";
check($schedd->releaseJob($first + ['reason' => 'released by the client'])->response, 'releaseJob');
echo 'released: JobStatus ' . wait_status($schedd, $sleepers, 0, ['1', '2']) . "\n";
check($schedd->removeJob(['clusterId' => $sleepers, 'jobId' => 0, 'reason' => 'removed', 'force-removal' => false])->response, 'removeJob');
echo 'removed: ' . wait_status($schedd, $sleepers, 0, ['3', 'gone']) . "\n";

$ads = job_ads($schedd, "ClusterId == $sleepers && ProcId == 1");
if (count($ads) !== 1 || attrs($ads[0])['ProcId'] !== '1') fail('getJobAds: ' . count($ads) . ' ads');
check($schedd->removeCluster(['clusterId' => $sleepers, 'reason' => 'removed by the client'])->response, 'removeCluster');
$deadline = time() + 60;
while (job_ads($schedd, "ClusterId == $sleepers && JobStatus != 3")) {
    if (time() > $deadline) fail('removeCluster: jobs left');
    usleep(250000);
}
echo "cluster $sleepers removed\n";

// 3. the collector answers the ads themselves (<result>), with no Status
$startds = items($collector->queryStartdAds(['constraint' => ''])->result);
$schedds = items($collector->queryScheddAds(['constraint' => 'HasSOAPInterface =?= TRUE'])->result);
if (!$startds || !$schedds) fail('collector: no ads');
echo 'collector: ' . count($startds) . ' startd ads, ' . count($schedds) . " schedd ads\n";
echo "OK\n";

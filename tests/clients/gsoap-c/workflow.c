/* The client-matrix workflow with gSOAP's C bindings.
 *   wsdl2h -c -o condor.h condorSchedd.wsdl condorCollector.wsdl
 *   soapcpp2 -c -1 -C -x -I/usr/share/gsoap/import condor.h
 *   gcc -I. -o workflow workflow.c soapC.c soapClient.c -lgsoap && ./workflow URL
 * Same steps as examples/cpp/condor_workflow.cpp; prints "OK" last or exits 1 with the reason.
 * With credentials: CONDOR_SOAP_USER=alice CONDOR_SOAP_PASSWORD=... ./workflow URL
 * (soap->userid / soap->passwd: gSOAP sends HTTP Basic auth preemptively; set again before every call). */
#include "soapH.h"
#include "condorSchedd.nsmap"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (64 * 1024)
static const char *SCRIPT = "#!/bin/sh\ncp input.bin output.bin\ntr a-z A-Z < input.txt > output.txt\n";
static const char *TEXT = "Hello from a condor-soap client.\nThe job upper-cases this line.\n";

static struct soap *soap;
static const char *url;
static const char *user, *password;  /* HTTP Basic credentials; user NULL: anonymous */

/* gSOAP clears soap->userid/passwd when it parses an HTTP response: set them for each call */
static void authenticate(void) {
    soap->userid = user;
    soap->passwd = password;
}

static void fail(const char *what, const char *detail) {
    printf("FAILED: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

/* a transport error or SOAP fault ends the program; so does a Status other than SUCCESS */
static void call(int result, const char *what) {
    if (result != SOAP_OK) {
        soap_print_fault(soap, stderr);
        fail(what, "SOAP error");
    }
    authenticate();  /* for the next call */
}
static void check(struct ns1__Status *status, const char *what) {
    if (status->code != ns1__StatusCode__SUCCESS) {
        printf("FAILED: %s: %s %s\n", what, soap_ns1__StatusCode2s(soap, status->code), status->message ? status->message : "");
        exit(1);
    }
}

static const char *attr(struct ns1__ClassAdStruct *ad, const char *name) {
    for (int i = 0; ad && i < ad->__sizeitem; i++)
        if (!strcmp(ad->item[i].name, name)) return ad->item[i].value;
    return "";
}

static void upload(struct ns1__Transaction *txn, int cluster, int proc, char *name, unsigned char *data, int size) {
    struct _ns1__declareFile declare = {txn, cluster, proc, name, size, ns1__HashType__NOHASH, NULL};
    struct _ns1__declareFileResponse declared;
    call(soap_call___ns1__declareFile(soap, url, NULL, &declare, &declared), "declareFile");
    check(declared.response, "declareFile");
    for (int offset = 0; offset < size; offset += CHUNK) {
        struct _ns1__sendFile send = {txn, cluster, proc, name, offset};
        send.data.__ptr = data + offset;  /* the C binding embeds the base64Binary struct */
        send.data.__size = size - offset < CHUNK ? size - offset : CHUNK;
        struct _ns1__sendFileResponse sent;
        call(soap_call___ns1__sendFile(soap, url, NULL, &send, &sent), "sendFile");
        check(sent.response, "sendFile");
    }
}

static unsigned char *download(int cluster, int proc, char *name, long long size) {
    unsigned char *out = malloc(size + 1);
    long long got = 0;
    while (got < size) {
        struct _ns1__getFile get = {NULL, cluster, proc, name, (int) got, (int) (size - got < CHUNK ? size - got : CHUNK)};
        struct _ns1__getFileResponse r;
        call(soap_call___ns1__getFile(soap, url, NULL, &get, &r), "getFile");
        check(r.response->status, "getFile");
        if (r.response->data.__size <= 0) fail("getFile", "no data");
        memcpy(out + got, r.response->data.__ptr, r.response->data.__size);
        got += r.response->data.__size;
    }
    out[size] = 0;
    return out;
}

/* JobStatus of a job, or "gone" once it has left the queue */
static const char *job_status(int cluster, int proc) {
    struct _ns1__getJobAd get = {NULL, cluster, proc};
    struct _ns1__getJobAdResponse r;
    call(soap_call___ns1__getJobAd(soap, url, NULL, &get, &r), "getJobAd");
    if (r.response->status->code == ns1__StatusCode__UNKNOWNJOB) return "gone";
    check(r.response->status, "getJobAd");
    return attr(r.response->classAd, "JobStatus");
}

static const char *wait_status(int cluster, int proc, const char *wanted1, const char *wanted2) {
    for (int tries = 0; tries < 480; tries++) {
        const char *status = job_status(cluster, proc);
        if (!strcmp(status, wanted1) || (wanted2 && !strcmp(status, wanted2))) return status;
        if (!strcmp(status, "5")) fail("job was held", NULL);
        usleep(250000);
    }
    fail("job did not reach the expected JobStatus", wanted1);
    return NULL;
}

static struct ns1__ClassAdStructArray *job_ads(char *constraint) {
    struct _ns1__getJobAds get = {NULL, constraint};
    struct _ns1__getJobAdsResponse r;
    call(soap_call___ns1__getJobAds(soap, url, NULL, &get, &r), "getJobAds");
    check(r.response->status, "getJobAds");
    return r.response->classAdArray;
}
static int count(struct ns1__ClassAdStructArray *ads) { return ads ? ads->__sizeitem : 0; }

static struct ns1__Transaction *begin(void) {
    struct _ns1__beginTransaction b = {60};
    struct _ns1__beginTransactionResponse r;
    call(soap_call___ns1__beginTransaction(soap, url, NULL, &b, &r), "beginTransaction");
    check(r.response->status, "beginTransaction");
    return r.response->transaction;
}

static void commit(struct ns1__Transaction *txn) {
    struct _ns1__commitTransaction c = {txn};
    struct _ns1__commitTransactionResponse r;
    call(soap_call___ns1__commitTransaction(soap, url, NULL, &c, &r), "commitTransaction");
    check(r.response, "commitTransaction");
}

static int new_cluster(struct ns1__Transaction *txn) {
    struct _ns1__newCluster n = {txn};
    struct _ns1__newClusterResponse r;
    call(soap_call___ns1__newCluster(soap, url, NULL, &n, &r), "newCluster");
    check(r.response->status, "newCluster");
    return *r.response->integer;
}

/* add a job to a cluster from a template and submit it */
static int submit_job(struct ns1__Transaction *txn, int cluster, char *owner, char *cmd, char *args) {
    struct _ns1__newJob nj = {txn, cluster};
    struct _ns1__newJobResponse njr;
    call(soap_call___ns1__newJob(soap, url, NULL, &nj, &njr), "newJob");
    check(njr.response->status, "newJob");
    int proc = *njr.response->integer;
    struct _ns1__createJobTemplate t = {cluster, proc, owner, ns1__UniverseType__VANILLA, cmd, args, NULL};
    struct _ns1__createJobTemplateResponse tr;
    call(soap_call___ns1__createJobTemplate(soap, url, NULL, &t, &tr), "createJobTemplate");
    check(tr.response->status, "createJobTemplate");
    if (!strcmp(cmd, "job.sh")) {  /* the first job gets its files before submit */
        unsigned char binary[3 * CHUNK + 4321];
        for (int i = 0; i < (int) sizeof binary; i++) binary[i] = (unsigned char) ((i * 7 + (i >> 8)) & 0xff);
        upload(txn, cluster, proc, "job.sh", (unsigned char *) SCRIPT, (int) strlen(SCRIPT));
        upload(txn, cluster, proc, "input.txt", (unsigned char *) TEXT, (int) strlen(TEXT));
        upload(txn, cluster, proc, "input.bin", binary, (int) sizeof binary);
    }
    struct _ns1__submit s = {txn, cluster, proc, tr.response->classAd};
    struct _ns1__submitResponse sr;
    call(soap_call___ns1__submit(soap, url, NULL, &s, &sr), "submit");
    check(sr.response->status, "submit");
    return proc;
}

int main(int argc, char **argv) {
    url = argv[1];  /* the endpoint of every call: the WSDL's soap:address is not used */
    char *owner = getenv("CONDOR_SOAP_OWNER") ? getenv("CONDOR_SOAP_OWNER") : getenv("USER") ? getenv("USER") : "nobody";
    soap = soap_new1(SOAP_C_UTFSTRING);
    soap_set_namespaces(soap, namespaces);
    if (getenv("CONDOR_SOAP_USER") && *getenv("CONDOR_SOAP_USER")) {  /* else anonymous */
        user = getenv("CONDOR_SOAP_USER");
        password = getenv("CONDOR_SOAP_PASSWORD") ? getenv("CONDOR_SOAP_PASSWORD") : "";
    }
    authenticate();

    struct _ns1__getVersionString v;
    struct _ns1__getVersionStringResponse vr;
    call(soap_call___ns1__getVersionString(soap, url, NULL, &v, &vr), "getVersionString");
    check(vr.response->status, "getVersionString");
    if (!vr.response->message || strncmp(vr.response->message, "$CondorVersion:", 15)) fail("getVersionString", NULL);
    printf("getVersionString -> %s\n", vr.response->message);

    struct ns1__Transaction *txn = begin();
    int cluster = new_cluster(txn);
    int proc = submit_job(txn, cluster, owner, "job.sh", NULL);
    commit(txn);
    printf("submitted job %d.%d with 3 files\n", cluster, proc);
    printf("JobStatus %s\n", wait_status(cluster, proc, "4", NULL));

    struct _ns1__listSpool ls = {NULL, cluster, proc};
    struct _ns1__listSpoolResponse lsr;
    call(soap_call___ns1__listSpool(soap, url, NULL, &ls, &lsr), "listSpool");
    check(lsr.response->status, "listSpool");
    long long bin_size = -1, txt_size = -1;
    for (int i = 0; lsr.response->info && i < lsr.response->info->__sizeitem; i++) {
        struct ns1__FileInfo *f = &lsr.response->info->item[i];
        printf("listSpool -> %s %lld\n", f->name, (long long) f->size);
        if (!strcmp(f->name, "output.bin")) bin_size = f->size;
        if (!strcmp(f->name, "output.txt")) txt_size = f->size;
    }
    if (bin_size < 0 || txt_size < 0) fail("outputs missing from the spool", NULL);
    unsigned char *out = download(cluster, proc, "output.bin", bin_size);
    for (long long i = 0; i < bin_size; i++)
        if (out[i] != (unsigned char) ((i * 7 + (i >> 8)) & 0xff) || bin_size != 3 * CHUNK + 4321) fail("output.bin differs", NULL);
    char *upper = (char *) download(cluster, proc, "output.txt", txt_size), expected[256];
    for (size_t i = 0; i <= strlen(TEXT); i++) expected[i] = (char) toupper(TEXT[i]);
    if (strcmp(upper, expected)) fail("output.txt differs", upper);
    struct _ns1__closeSpool cs = {NULL, cluster, proc};
    struct _ns1__closeSpoolResponse csr;
    call(soap_call___ns1__closeSpool(soap, url, NULL, &cs, &csr), "closeSpool");
    check(csr.response, "closeSpool");
    printf("outputs verified, spool closed\n");

    txn = begin();
    int sleepers = new_cluster(txn);
    submit_job(txn, sleepers, owner, "/bin/sleep", "300");
    submit_job(txn, sleepers, owner, "/bin/sleep", "300");
    commit(txn);
    struct _ns1__holdJob h = {NULL, sleepers, 0, "held", xsd__boolean__false_, xsd__boolean__false_, xsd__boolean__false_};
    struct _ns1__holdJobResponse hr;
    call(soap_call___ns1__holdJob(soap, url, NULL, &h, &hr), "holdJob");
    check(hr.response, "holdJob");
    printf("held: JobStatus %s\n", wait_status(sleepers, 0, "5", NULL));
    struct _ns1__releaseJob r = {NULL, sleepers, 0, "released", xsd__boolean__false_, xsd__boolean__false_};
    struct _ns1__releaseJobResponse rr;
    call(soap_call___ns1__releaseJob(soap, url, NULL, &r, &rr), "releaseJob");
    check(rr.response, "releaseJob");
    printf("released: JobStatus %s\n", wait_status(sleepers, 0, "1", "2"));
    struct _ns1__removeJob rm = {NULL, sleepers, 0, "removed", xsd__boolean__false_};
    struct _ns1__removeJobResponse rmr;
    call(soap_call___ns1__removeJob(soap, url, NULL, &rm, &rmr), "removeJob");
    check(rmr.response, "removeJob");
    printf("removed: %s\n", wait_status(sleepers, 0, "3", "gone"));

    char constraint[128];
    snprintf(constraint, sizeof constraint, "ClusterId == %d && ProcId == 1", sleepers);
    struct ns1__ClassAdStructArray *ads = job_ads(constraint);
    if (count(ads) != 1 || strcmp(attr(&ads->item[0], "ProcId"), "1")) fail("getJobAds", constraint);
    struct _ns1__removeCluster rc = {NULL, sleepers, "removed by the client"};
    struct _ns1__removeClusterResponse rcr;
    call(soap_call___ns1__removeCluster(soap, url, NULL, &rc, &rcr), "removeCluster");
    check(rcr.response, "removeCluster");
    snprintf(constraint, sizeof constraint, "ClusterId == %d && JobStatus != 3", sleepers);
    for (int tries = 0; count(job_ads(constraint)) > 0; tries++) {
        if (tries > 240) fail("removeCluster", "jobs left");
        usleep(250000);
    }
    printf("cluster %d removed\n", sleepers);

    struct _ns1__queryStartdAds qs = {""};
    struct _ns1__queryStartdAdsResponse qsr;
    call(soap_call___ns1__queryStartdAds(soap, url, NULL, &qs, &qsr), "queryStartdAds");
    struct _ns1__queryScheddAds qd = {"HasSOAPInterface =?= TRUE"};
    struct _ns1__queryScheddAdsResponse qdr;
    call(soap_call___ns1__queryScheddAds(soap, url, NULL, &qd, &qdr), "queryScheddAds");
    if (count(qsr.result) == 0 || count(qdr.result) == 0) fail("collector", "no ads");
    printf("collector: %d startd ads, %d schedd ads\n", count(qsr.result), count(qdr.result));
    printf("OK\n");
    soap_end(soap);
    soap_free(soap);
    return 0;
}

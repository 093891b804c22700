#!/bin/sh
# condor-soap's REST face from the shell, with curl and jq: the queue and the slots as RESTD
# clients read them, then one job submitted, watched until it completes, its output fetched.
#
#   examples/rest/condor_rest.sh [URL]        (default http://127.0.0.1:8080)
#
# Credentials: CONDOR_SOAP_TOKEN (a bearer token) or CONDOR_SOAP_USER/CONDOR_SOAP_PASSWORD.
set -eu
URL=${1:-http://127.0.0.1:8080}
V1="${URL%/}/v1"

rest() {  # rest METHOD PATH [curl arguments...]: the JSON answer; fails loudly on an HTTP error
    method=$1 path=$2
    shift 2
    if [ -n "${CONDOR_SOAP_TOKEN:-}" ]; then
        set -- -H "Authorization: Bearer $CONDOR_SOAP_TOKEN" "$@"
    elif [ -n "${CONDOR_SOAP_USER:-}" ]; then
        set -- -u "$CONDOR_SOAP_USER:${CONDOR_SOAP_PASSWORD:-}" "$@"
    fi
    curl -sS --fail-with-body -X "$method" "$@" "$V1$path"
}

echo "== slots (GET /v1/status?query=startd)"
rest GET "/status?query=startd&projection=name,state,activity,memory" |
    jq -r '.[] | [.name, .classad.state, .classad.activity, .classad.memory] | @tsv'

echo "== submit (POST /v1/jobs/DEFAULT, a JSON job ad)"
cluster=$(rest POST /jobs/DEFAULT -H 'Content-Type: application/json' \
    -d '{"cmd": "/bin/echo", "arguments": "hello from curl", "out": "out.txt", "JobBatchName": "curl-example"}' |
    jq -r .cluster)
echo "cluster $cluster"

echo "== the queue (GET /v1/jobs/DEFAULT?projection=...)"
rest GET "/jobs/DEFAULT?projection=owner,jobstatus,jobbatchname" |
    jq -r '.[] | [.jobid, .classad.owner, .classad.jobstatus, (.classad.jobbatchname // "")] | @tsv'

echo "== waiting for $cluster.0 to complete"
tries=0
until [ "$(rest GET "/jobs/DEFAULT/$cluster/0/jobstatus")" = 4 ]; do
    tries=$((tries + 1))
    [ "$tries" -lt 120 ] || { echo "job $cluster.0 did not complete" >&2; exit 1; }
    sleep 1
done

echo "== its output (GET .../files, GET .../files/out.txt)"
rest GET "/jobs/DEFAULT/$cluster/0/files" | jq -r '.[] | "\(.name)\t\(.size) bytes"'
rest GET "/jobs/DEFAULT/$cluster/0/files/out.txt"

echo "== done with it (POST .../close_spool): it leaves the queue for the history"
rest POST "/jobs/DEFAULT/$cluster/0/close_spool" >/dev/null
tries=0
until rest GET "/history/DEFAULT/$cluster/0/jobstatus" >/dev/null 2>&1; do
    tries=$((tries + 1))
    [ "$tries" -lt 120 ] || { echo "job $cluster.0 did not reach the history" >&2; exit 1; }
    sleep 1
done
rest GET "/history/DEFAULT/$cluster?projection=jobstatus,exitcode" | jq -c '.[]'

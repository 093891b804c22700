"""The schedd operations (spec §3.3), in portType order. Each one only translates."""
from __future__ import annotations

from spyne import Service

from condor_soap.soap import convert
from condor_soap.soap.convert import status, txn_ref
from condor_soap.soap.models import (
    AdArg, Base64DataAndStatus, BoolArg, ClassAdStructAndStatus, ClassAdStructArrayAndStatus,
    DataArg, FileInfoArrayAndStatus, HashTypeArg, IntAndStatus, IntArg, OptionalTxnArg,
    RequirementsAndStatus, Status, StringArg, TransactionAndStatus, TxnArg, UniverseArg,
)
from condor_soap.soap.operations import ad_answer, ads_answer, operation, schedd

EMAIL = {"email_user": "email-user", "email_admin": "email-admin"}


class ScheddService(Service):
    """The condorSchedd operations after the daemon-core ones."""

    @operation(IntArg, returns=TransactionAndStatus)
    def beginTransaction(ctx, duration):
        return TransactionAndStatus(status=status(), transaction=convert.transaction(
            schedd(ctx).begin_transaction(duration)))

    @operation(TxnArg, returns=Status)
    def commitTransaction(ctx, transaction):
        schedd(ctx).commit_transaction(txn_ref(transaction))
        return status()

    @operation(TxnArg, returns=Status)
    def abortTransaction(ctx, transaction):
        schedd(ctx).abort_transaction(txn_ref(transaction))
        return status()

    @operation(TxnArg, IntArg, returns=TransactionAndStatus)
    def extendTransaction(ctx, transaction, duration):
        return TransactionAndStatus(status=status(), transaction=convert.transaction(
            schedd(ctx).extend_transaction(txn_ref(transaction), duration)))

    @operation(TxnArg, returns=IntAndStatus)
    def newCluster(ctx, transaction):
        return IntAndStatus(status=status(), integer=schedd(ctx).new_cluster(txn_ref(transaction)))

    @operation(OptionalTxnArg, IntArg, StringArg, returns=Status)
    def removeCluster(ctx, transaction, clusterId, reason):
        schedd(ctx).remove_cluster(txn_ref(transaction), clusterId, reason)
        return status()

    @operation(TxnArg, IntArg, returns=IntAndStatus)
    def newJob(ctx, transaction, clusterId):
        return IntAndStatus(status=status(), integer=schedd(ctx).new_job(txn_ref(transaction), clusterId))

    @operation(OptionalTxnArg, IntArg, IntArg, StringArg, BoolArg, returns=Status,
               names={"force_removal": "force-removal"})
    def removeJob(ctx, transaction, clusterId, jobId, reason, force_removal):
        schedd(ctx).remove_job(txn_ref(transaction), clusterId, jobId, reason, force_removal)
        return status()

    @operation(OptionalTxnArg, IntArg, IntArg, StringArg, BoolArg, BoolArg, BoolArg, returns=Status,
               names={**EMAIL, "system_hold": "system-hold"})
    def holdJob(ctx, transaction, clusterId, jobId, reason, email_user, email_admin, system_hold):
        schedd(ctx).hold_job(txn_ref(transaction), clusterId, jobId, reason, email_user, email_admin, system_hold)
        return status()

    @operation(OptionalTxnArg, IntArg, IntArg, StringArg, BoolArg, BoolArg, returns=Status, names=EMAIL)
    def releaseJob(ctx, transaction, clusterId, jobId, reason, email_user, email_admin):
        schedd(ctx).release_job(txn_ref(transaction), clusterId, jobId, reason, email_user, email_admin)
        return status()

    @operation(TxnArg, IntArg, IntArg, AdArg, returns=RequirementsAndStatus)
    def submit(ctx, transaction, clusterId, jobId, jobAd):
        schedd(ctx).submit(txn_ref(transaction), clusterId, jobId, convert.attrs(jobAd))
        return RequirementsAndStatus(status=status())  # requirements never filled (spec §4.4)

    @operation(OptionalTxnArg, StringArg, returns=ClassAdStructArrayAndStatus)
    def getJobAds(ctx, transaction, constraint):
        return ads_answer(ctx, "classAdArray", schedd(ctx).get_job_ads(txn_ref(transaction), constraint))

    @operation(OptionalTxnArg, IntArg, IntArg, returns=ClassAdStructAndStatus)
    def getJobAd(ctx, transaction, clusterId, jobId):
        return ad_answer(ctx, schedd(ctx).get_job_ad(txn_ref(transaction), clusterId, jobId))

    @operation(TxnArg, IntArg, IntArg, StringArg, IntArg, HashTypeArg, StringArg, returns=Status)
    def declareFile(ctx, transaction, clusterId, jobId, name, size, hashType, hash):
        schedd(ctx).declare_file(txn_ref(transaction), clusterId, jobId, name, size, hashType, hash)
        return status()

    @operation(TxnArg, IntArg, IntArg, StringArg, IntArg, DataArg, returns=Status)
    def sendFile(ctx, transaction, clusterId, jobId, name, offset, data):
        schedd(ctx).send_file(txn_ref(transaction), clusterId, jobId, name, offset, convert.data(data))
        return status()

    @operation(OptionalTxnArg, IntArg, IntArg, StringArg, IntArg, IntArg, returns=Base64DataAndStatus)
    def getFile(ctx, transaction, clusterId, jobId, name, offset, length):
        got = schedd(ctx).get_file(txn_ref(transaction), clusterId, jobId, name, offset, length)
        return Base64DataAndStatus(status=status(), data=convert.base64(got))

    @operation(OptionalTxnArg, IntArg, IntArg, returns=Status)
    def closeSpool(ctx, transaction, clusterId, jobId):
        schedd(ctx).close_spool(txn_ref(transaction), clusterId, jobId)
        return status()

    @operation(OptionalTxnArg, IntArg, IntArg, returns=FileInfoArrayAndStatus)
    def listSpool(ctx, transaction, clusterId, jobId):
        files = schedd(ctx).list_spool(txn_ref(transaction), clusterId, jobId)
        return FileInfoArrayAndStatus(status=status(), info=convert.file_infos(files))

    @operation(returns=Status)
    def requestReschedule(ctx):
        schedd(ctx).request_reschedule()
        return status()

    @operation(AdArg, returns=RequirementsAndStatus)
    def discoverJobRequirements(ctx, jobAd):
        names = schedd(ctx).discover_job_requirements(convert.attrs(jobAd))
        return RequirementsAndStatus(status=status(), requirements=convert.requirements(names))

    @operation(IntArg, IntArg, StringArg, UniverseArg, StringArg, StringArg, StringArg,
               returns=ClassAdStructAndStatus)
    def createJobTemplate(ctx, clusterId, jobId, owner, type, cmd, args, requirements):
        return ad_answer(ctx, schedd(ctx).create_job_template(clusterId, jobId, owner, type, cmd, args, requirements))

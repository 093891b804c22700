"""The REST face: HTCondor-RESTD v1 compatible reads and condor-soap's writes (docs/rest.rst)."""

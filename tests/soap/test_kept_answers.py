"""getVersionString and getPlatformString answers are written by Spyne once and then sent as
they are (soap/application.py CONSTANT_ANSWERS): the same bytes, a new answer when what
they report changes, and failures never kept."""
from __future__ import annotations

from condor_soap.errors import CondorSoapError
from tests.soap.test_ads_xml import App
from tests.soap.conftest import RecordingCore


def test_a_kept_answer_is_spynes_and_follows_the_version():
    core = RecordingCore()
    kept, fresh = App(core, fast=True), App(core, fast=True)
    for operation, method in (("getVersionString", "version"), ("getPlatformString", "platform")):
        core.returns[method] = "$CondorVersion: 1 <&> $"
        first, again = kept(operation)[2], kept(operation)[2]
        assert first == again == fresh(operation)[2]  # fresh: a new application, nothing kept yet
        assert b"$CondorVersion: 1 &lt;&amp;&gt; $" in again
        core.returns[method] = "$CondorVersion: 2 $"
        assert b"$CondorVersion: 2 $" in kept(operation)[2]
    app = kept.face._spyne.app
    assert len(app.kept_answers) == 4
    core.raises["version"] = CondorSoapError("the schedd is down")
    assert b"<code>FAIL</code>" in kept("getVersionString")[2]
    assert len(app.kept_answers) == 4  # a failure is not kept
    del core.raises["version"]
    assert b"$CondorVersion: 2 $" in kept("getVersionString")[2]

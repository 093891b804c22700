"""The DTD check (``soap.protocol.check_prolog``) refuses exactly the documents in which libxml2,
reading them whole with a fresh parser, reports a document type declaration (well-formed or
not: the check stops at the root, the oracle does not); its per-thread parser, reused after
every refusal and error, decides each document as a fresh one would; its fast path (a prolog
told plain from its bytes, no parser) decides as the parser does."""
from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings, strategies as st
from lxml import etree
from spyne.error import Fault

from condor_soap.soap import protocol
from condor_soap.soap.protocol import DTD_REFUSED, check_prolog

ENVELOPE = '<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><c:x xmlns:c="urn:condor"/></e:Body></e:Envelope>'
DECLARATIONS = ['', '<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-8"?>',
                "<?xml version='1.0' encoding='ISO-8859-1' standalone='yes'?>", '\ufeff<?xml version="1.0"?>',
                '<?xml version="1.1" encoding="us-ascii"?>', '<?xml  version = "1.0"  standalone="no" ?>',
                '<?XML version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>', '<?xml?>',
                '<?xml version="1.0" encoding="EBCDIC-US"?>']
MISC = ["", " ", "\n", "<!-- c -->", "<!-- <!DOCTYPE x> -->", "<?pi x?>", "<?pi <!DOCTYPE?>", "\t\r\n"]
DOCTYPES = ["<!DOCTYPE e>", '<!DOCTYPE e SYSTEM "http://127.0.0.1:9/x.dtd">', '<!DOCTYPE e [<!ENTITY a "b">]>',
            '<!DOCTYPE e PUBLIC "-//X//Y" "x.dtd" [<!ELEMENT e ANY>]>', "<!DOCTYPE e [<!-- ]> -->]>"]
BROKEN = ["", "garbage", "<", "<!", "<!DOCTYPE", "<!DOC TYPE e>", "]>", "<!-- open", "<!DOCTYPE e [<!ENTITY"]


class _Events:
    """Records whether a DOCTYPE event came (a fresh parser per document, reading it whole)."""

    seen = False

    def doctype(self, *args) -> None:
        self.seen = True

    def close(self) -> None: ...


def libxml2_sees_doctype(document: bytes) -> bool:
    """Does libxml2, reading the whole document with a fresh parser (no DTD loaded, no entity
    resolved), report a document type declaration before any error stops it?"""
    target = _Events()
    parser = etree.XMLParser(target=target, resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
    try:
        parser.feed(document)
        parser.close()
    except etree.XMLSyntaxError:
        pass
    return target.seen


def refused(document: bytes, charset: str | None = None) -> bool:
    try:
        check_prolog([document], charset)
    except Fault as fault:
        assert (fault.faultcode, fault.faultstring) == ("Client.SoapError", DTD_REFUSED)
        return True
    return False


documents = st.builds(
    lambda decl, before, doctype, after, broken, body, encoding: (
        decl + before + doctype + after + broken + body).encode(encoding, errors="replace"),
    st.sampled_from(DECLARATIONS), st.sampled_from(MISC), st.sampled_from([""] + DOCTYPES), st.sampled_from(MISC),
    st.sampled_from([""] * 4 + BROKEN), st.sampled_from([ENVELOPE, ENVELOPE[:40], ""]),
    st.sampled_from(["utf-8", "utf-16", "latin-1"]))


@settings(max_examples=600, deadline=None)
@given(st.lists(documents, min_size=1, max_size=6))
def test_refuses_exactly_what_libxml2_reads_as_a_doctype(sequence):
    for document in sequence:  # in sequence: the reused parser carries nothing over
        assert refused(document) == libxml2_sees_doctype(document), document


@pytest.mark.parametrize("document", [
    pytest.param(ENVELOPE.encode(), id="plain"),
    pytest.param(("<!DOCTYPE e>" + ENVELOPE).encode(), id="doctype"),
    pytest.param(b"<!-- " + b"x" * 200_000 + b" --><!DOCTYPE e>" + ENVELOPE.encode(), id="doctype-after-long-comment"),
    pytest.param(b"<", id="broken"),
])
def test_threads_decide_alike(document):
    expected = refused(document)
    results: list[bool] = []
    threads = [threading.Thread(target=lambda: results.extend(refused(document) for _ in range(50))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 200


@settings(max_examples=600, deadline=None)
@given(documents, st.sampled_from([None, "utf-8", "UTF-8", "latin1", "ascii", "utf-16", "bogus"]), st.integers(1, 80))
def test_fast_path_decides_as_the_parser(document, charset, split):
    """With the fast path taken or not, in one chunk or split anywhere, under any HTTP charset,
    the decision is the parser's."""
    def by_parser() -> bool:
        try:
            protocol._PLAIN_PROLOG, saved = _NEVER, protocol._PLAIN_PROLOG
            return refused(document, charset)
        finally:
            protocol._PLAIN_PROLOG = saved

    def split_refused() -> bool:
        try:
            check_prolog([document[:split], document[split:]], charset)
        except Fault:
            return True
        return False

    assert refused(document, charset) == by_parser() == split_refused(), document


class _Never:
    @staticmethod
    def match(data: bytes) -> None:
        return None


_NEVER = _Never()


@pytest.mark.parametrize("document", [
    pytest.param(b'<?xml version="1.0" encoding="UTF-8"?>\n<soap:Envelope', id="zeep"),
    pytest.param(b"<?xml version='1.0' encoding='utf-8'?><SOAP-ENV:Envelope", id="suds"),
    pytest.param(b'<?xml version="1.0" encoding="UTF-8"?>\n<SOAP-ENV:Envelope xmlns:SOAP-ENV=', id="gsoap"),
    pytest.param(b"<soap:Envelope xmlns:soap=", id="no-declaration"),
    pytest.param("\ufeff<?xml version='1.0'?> <e>".encode(), id="bom"),
])
def test_what_real_clients_send_takes_the_fast_path(document):
    assert protocol._PLAIN_PROLOG.match(document)

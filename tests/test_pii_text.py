"""Free-text redaction with the real spaCy model and Presidio recognizers."""

from __future__ import annotations

import pyarrow as pa
import pytest

from pactline.errors import DataError
from pactline.pii.engine import get_engine
from pactline.pii.recognizers import Hit
from pactline.pii.text import _chunks, merge_hits, needs_ner, redact_text, scan_text


@pytest.fixture(scope="module")
def engine():
    return get_engine()


NOTES = [
    "Spoke to John Smith who asked for a callback on 212-555-0187 about the refund.",
    None,
    "Card 4111 1111 1111 1111 was declined at checkout, customer will retry.",
    "refund processed without issues",
    "Send the invoice to maria.garcia@example.com before Friday please.",
    "Here is my SSN: 791-10-5487 and my IBAN is GB59NAWV77136867049356 thanks",
    "Spoke to John Smith who asked for a callback on 212-555-0187 about the refund.",
]
INJECTED = ["John Smith", "212-555-0187", "4111 1111 1111 1111", "maria.garcia@example.com",
            "791-10-5487", "GB59NAWV77136867049356"]
KEPT = ["Spoke to", "who asked for a callback on", "about the refund", "was declined at checkout",
        "refund processed without issues", "Send the invoice to", "Here is my SSN:"]


def test_injected_pii_is_replaced_and_other_words_kept(engine):
    out = redact_text(pa.array(NOTES), analyzer=engine).to_pylist()
    joined = "\n".join(v for v in out if v)
    for value in INJECTED:
        assert value not in joined
    for words in KEPT:
        assert words in joined
    assert out[0] == "Spoke to <PERSON> who asked for a callback on <PHONE_NUMBER> about the refund."
    assert out[2].startswith("Card <CREDIT_CARD> was declined")
    assert "<EMAIL_ADDRESS>" in out[4]
    assert "<US_SSN>" in out[5] and "<IBAN_CODE>" in out[5]


def test_nulls_stay_null_and_length_is_kept(engine):
    values = pa.chunked_array([pa.array(NOTES[:3]), pa.array([None, None], type=pa.string()), pa.array(NOTES[3:])])
    out = redact_text(values, analyzer=engine)
    assert len(out) == len(values)
    assert out.null_count == 3
    assert out[1].as_py() is None


def test_counts_are_per_row_and_duplicates_analysed_once(engine):
    scan = scan_text(pa.array(NOTES), analyzer=engine)
    assert scan.counts["PERSON"] == 2  # one distinct note, two rows
    assert scan.counts["CREDIT_CARD"] == 1
    assert scan.distinct == 5
    assert scan.rows_with_pii == 5


def test_luhn_failing_number_is_kept(engine):
    out = redact_text(pa.array(["card 4111 1111 1111 1112 was typed wrong"]), analyzer=engine)
    assert "4111 1111 1111 1112" in out[0].as_py()
    assert "CREDIT_CARD" not in out[0].as_py()


def test_entities_and_placeholder_can_be_chosen(engine):
    out = redact_text(pa.array([NOTES[0]]), entities=["PHONE_NUMBER"], placeholder="[{entity}]",
                      analyzer=engine)
    assert out[0].as_py() == "Spoke to John Smith who asked for a callback on [PHONE_NUMBER] about the refund."


def test_dictionary_and_large_string_input(engine):
    d = pa.array(NOTES).dictionary_encode()
    assert redact_text(d, analyzer=engine)[0].as_py().startswith("Spoke to <PERSON>")
    big = redact_text(pa.array(NOTES, type=pa.large_string()), analyzer=engine)
    assert big.type == pa.large_string()


@pytest.mark.parametrize("bad", [pa.array([1, 2, 3]), pa.array([1.5]), [" a list "], "a string"])
def test_non_string_input_is_a_data_error(engine, bad):
    with pytest.raises(DataError, match="expected"):
        redact_text(bad, analyzer=engine)


def test_megabyte_cell_is_chunked(engine):
    filler = "the parcel was checked and nothing unusual was found. " * 20_000  # ~1.1 MB
    text = filler + "Call Maria Garcia on 212-555-0187 tomorrow. " + filler
    assert len(text) > 1_000_000
    out = redact_text(pa.array([text]), analyzer=engine)[0].as_py()
    assert "212-555-0187" not in out
    assert "Maria Garcia" not in out
    assert len(out) < len(text)


def test_chunks_cut_on_boundaries():
    text = ("word " * 50 + "\n") * 10
    pieces = _chunks(text, size=300)
    assert "".join(p for _, p in pieces) == text
    assert all(len(p) <= 300 for _, p in pieces)
    assert all(text[off:off + len(p)] == p for off, p in pieces)


def test_prefilter_skips_text_that_cannot_hold_names():
    assert not needs_ner("refund processed without issues")
    assert not needs_ner("Returned the item because the size was wrong.")
    assert needs_ner("asked Maria about it")
    assert needs_ner("John called twice")
    assert needs_ner("moved here in 1997")


def test_overlaps_merge_to_the_best_label():
    merged = merge_hits([Hit(0, 19, "CREDIT_CARD", 1.0), Hit(10, 19, "DATE_TIME", 0.85), Hit(25, 30, "PERSON", 0.85)])
    assert merged == [Hit(0, 19, "CREDIT_CARD", 1.0), Hit(25, 30, "PERSON", 0.85)]
    assert merge_hits([Hit(0, 5, "PERSON", 0.85), Hit(3, 12, "LOCATION", 0.6)]) == [Hit(0, 12, "PERSON", 0.85)]


def test_diagnosis_codes_are_not_names_but_the_names_beside_them_are(engine):
    """The small model calls ICD-10 codes PERSON or ORGANIZATION; they identify no one and carry the
    clinical meaning the data is shared for."""
    texts = ["Seen for J44.1, started inhaler.", "Diagnosis E11.9 and I10 noted.",
             "Patient Jan de Vries, code J44.1.", "Fracture S72.001A, seen by Dr. Anna Schmidt."]
    out = redact_text(pa.array(texts), analyzer=engine).to_pylist()
    for code in ("J44.1", "E11.9", "I10", "S72.001A"):
        assert any(code in o for o in out), (code, out)
    assert "Jan de Vries" not in out[2] and "<PERSON>" in out[2]
    assert "Anna Schmidt" not in out[3] and "<PERSON>" in out[3]

"""axon.lab: the registry, Result and the aligned table printer."""

import pytest

from axon import lab
from axon.lab.shared.base import Result, table


def test_registry_holds_the_experiments_and_worksheets():
    assert {"xor", "boolean"} <= set(lab.names())
    assert {"xor", "multiply"} <= set(lab.names("worksheet"))
    assert lab.get("xor").description
    with pytest.raises(KeyError, match="known experiments: .*boolean") as err:
        lab.get("nope")
    assert ", ".join(lab.names()) in str(err.value)  # every name, sorted
    with pytest.raises(ValueError, match="already registered"):
        lab.register("xor", "again")(lambda config: Result("xor"))


def test_result_passes_only_when_every_claim_holds():
    r = Result("r")
    assert r.check("true", True) and r.passed
    assert not r.check("false", False) and not r.passed
    assert "[PASS] true" in r.report() and "[FAIL] false" in r.report()


def test_table_aligns_numbers_right_and_text_left(capsys):
    table(["name", "value"], [["a", "1.5"], ["long name", "-10.25"]])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "  name        value"
    assert lines[2] == "  a             1.5"
    assert lines[3] == "  long name  -10.25"

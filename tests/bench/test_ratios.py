"""How `make bench` takes a ratio between two of its rows."""

import pytest

from bench.run import Row, paired_ratios


def test_each_repetition_is_compared_with_itself() -> None:
    # The machine's speed moved between repetitions, both rows alike: Sluice ran at half the
    # ceiling in each. Pairing the repetitions in another order would say otherwise.
    sluice = Row("sluice", "msgs/s", [100.0, 50.0, 150.0])
    ceiling = Row("ceiling", "msgs/s", [200.0, 100.0, 300.0])
    assert paired_ratios(sluice, ceiling) == [0.5, 0.5, 0.5]


def test_rows_of_unequal_repetitions_have_no_ratio() -> None:
    with pytest.raises(ValueError):
        paired_ratios(Row("a", "msgs/s", [1.0, 2.0]), Row("b", "msgs/s", [1.0]))

"""The reactor-time line of qdlab run's summary and qdlab watch: cumulative, then the last experiment's own."""

from lab.store.records import Usage
from lab.view.watch import usage_text


def test_usage_line_gives_the_cumulative_figures_then_the_last_experiments_own():
    usage = Usage(
        index=3,
        uid="u",
        completed=True,
        reactor_s=730.0,
        reagents_ul={"cd": 210.0, "solvent": 600.0},
        cumulative_reactor_s=5700.0,
        cumulative_reagents_ul={"cd": 3280.0, "solvent": 8550.0},
    )
    assert usage_text(usage, reagents={"cd": "Cd"}) == (
        "reactor time 1h35m; dispensed Cd 3.28 mL, solvent 8.55 mL; last experiment 12m10s, Cd 0.21 mL, "
        "solvent 0.6 mL"
    )


def test_an_experiment_that_measured_nothing_adds_no_figures_of_its_own():
    usage = Usage(3, "u", False, None, {}, 5700.0, {"cd": 3280.0})
    assert usage_text(usage) == "reactor time 1h35m; dispensed cd 3.28 mL"
    assert usage_text(None) == "reactor time -"

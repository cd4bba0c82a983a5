"""A GAN cohort is judged on NIQE; PSNR/SSIM wins without a lower NIQE are a brake."""

from srdistill.reproduce.cohort_eval import COHORT
from srdistill.reproduce.cohort_tables import gan_judgement


def cohorts(scores):
    """results from {(arm, seed): [(psnr, niqe) per image]} on the cohort mean."""
    out = {}
    for (arm, seed), images in scores.items():
        rows = [
            {"image": f"i{i}", "psnr": p, "ssim": p / 100, "niqe": n}
            for i, (p, n) in enumerate(images)
        ]
        out[(arm, seed)] = {"networks": {COHORT: {"BSD100": rows}}}
    return out


BASE = {("b", 0): [(26.0, 5.0), (27.0, 5.5)], ("b", 1): [(26.1, 5.1), (27.1, 5.4)]}


def test_higher_psnr_with_an_unchanged_niqe_is_a_brake_not_a_better_gan():
    res = cohorts(
        {**BASE, ("a", 0): [(26.5, 5.0), (27.5, 5.6)], ("a", 1): [(26.6, 5.1), (27.6, 5.3)]}
    )
    assert gan_judgement(res, "a", "b", ["BSD100"]) == "brake"


def test_a_lower_niqe_on_every_seed_is_better():
    res = cohorts(
        {**BASE, ("a", 0): [(25.5, 4.0), (26.5, 4.5)], ("a", 1): [(25.6, 4.2), (26.6, 4.4)]}
    )
    assert gan_judgement(res, "a", "b", ["BSD100"]) == "better"
    assert gan_judgement(res, "b", "a", ["BSD100"]) == "brake"  # the other way round


def test_one_seed_is_not_judged():
    res = cohorts({("a", 0): [(26.5, 4.0)], ("b", 0): [(26.0, 5.0)]})
    assert gan_judgement(res, "a", "b", ["BSD100"]) == "unmeasured"

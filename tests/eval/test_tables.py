"""Evaluation tables: a set cut by --max-images says how many images were scored."""

from srdistill.eval.evaluate import bicubic_upscaler, evaluate
from srdistill.eval.tables import results_table
from tests.conftest import write_images


def test_a_cut_set_is_labelled_with_the_images_scored(tmp_path):
    folder = write_images(tmp_path / "SetX", 3, (40, 36), seed=5)
    cut = evaluate(bicubic_upscaler(2), [str(folder)], 2, max_images=2)
    assert "| SetX (first 2 images) |" in results_table([cut], ["psnr"], max_images=2)
    whole = evaluate(bicubic_upscaler(2), [str(folder)], 2)
    table = results_table([whole], ["psnr"])
    assert "| SetX |" in table and "first" not in table

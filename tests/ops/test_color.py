import torch

from srdistill.ops import rgb_to_y, rgb_to_ycbcr, ycbcr_to_rgb
from tests.conftest import f32_tolerance


def test_y_of_black_white_and_primaries_matches_bt601():
    x = torch.tensor(
        [[0.0, 1.0, 1.0, 0.0, 0.0], [0.0, 1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0, 1.0]]
    )
    y = rgb_to_y(x.view(3, 1, 5))[0, 0] * 255
    expected = torch.tensor([16.0, 235.0, 16 + 65.481, 16 + 128.553, 16 + 24.966])
    # float32: a 3-term weighted sum, within a few float32 units of its largest value
    torch.testing.assert_close(y, expected, atol=f32_tolerance(235.0), rtol=0)


def test_ycbcr_round_trip_and_y_agrees():
    x = torch.rand(2, 3, 5, 7, dtype=torch.float64)
    ycc = rgb_to_ycbcr(x)
    torch.testing.assert_close(ycbcr_to_rgb(ycc), x)
    torch.testing.assert_close(ycc[:, :1], rgb_to_y(x))

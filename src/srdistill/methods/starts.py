"""Starting a network from a trained one: shared by the methods that offer ``init_from``."""

from __future__ import annotations

from srdistill.errors import CheckpointError, ConfigError
from srdistill.models import SRResNet, copy_first_blocks


def start_from_deeper(net: SRResNet, source: str, key: str) -> None:
    """Load the SRResNet at ``source`` (run folder or .safetensors) and copy its head,
    first ``net.num_blocks`` blocks and reconstruction into ``net``; ``key`` names the
    config option in errors."""
    from srdistill.deploy.loading import load_sr_model

    try:
        donor = load_sr_model(source, scale=net.scale).full
    except CheckpointError as exc:
        raise ConfigError(f"{key}: {exc}") from None
    if not isinstance(donor, SRResNet):
        raise ConfigError(
            f"{key} {source} holds a {type(donor).__name__}; give a plain SRResNet "
            "(extract an exit first: srdistill extract RUN --exit K)"
        )
    try:
        copy_first_blocks(net, donor)
    except ValueError as exc:
        raise ConfigError(f"{key} {source}: {exc}") from None

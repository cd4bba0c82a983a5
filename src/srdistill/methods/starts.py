"""Starting a network from a trained one: shared by the methods that offer ``init_from``."""

from __future__ import annotations

from torch import nn

from srdistill.errors import CheckpointError, ConfigError
from srdistill.models import ChainNetwork, copy_first_blocks, describe, slice_width


def start_from_deeper(net: nn.Module, source: str, key: str) -> None:
    """Load the network at ``source`` (run folder or .safetensors) and start ``net`` as
    its head, first blocks and reconstruction (a deeper source of the same architecture)
    or as its first channels (a wider one, CSD's inner student). ``key`` names the config
    option in errors."""
    from srdistill.deploy.loading import load_sr_model

    try:
        donor = load_sr_model(source, scale=getattr(net, "scale", None)).full
    except CheckpointError as exc:
        raise ConfigError(f"{key}: {exc}") from None
    if not isinstance(donor, ChainNetwork) and not hasattr(donor, "copy_first_blocks_from"):
        raise ConfigError(
            f"{key} {source} holds a {describe(donor)}; give a plain network whose first "
            "blocks can be cut out (SRResNet, EDSR, RCAN, IMDN or RFDN; for a multi-exit run "
            "extract an exit first: srdistill extract RUN --exit K)"
        )
    width_key = getattr(net, "WIDTH_KEY", "num_features")
    wider = (
        isinstance(net, ChainNetwork)
        and type(donor) is type(net)
        and donor.spec().get(width_key, 0) > net.spec().get(width_key, 0)
    )
    try:
        (slice_width if wider else copy_first_blocks)(net, donor)
    except ValueError as exc:
        raise ConfigError(f"{key} {source}: {exc}") from None

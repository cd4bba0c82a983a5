"""Network architectures, the registries they join, and the one path that builds them
from a stored spec (see models/registry.py). Importing this package registers the
built-in architectures."""

from __future__ import annotations

from srdistill.models.registry import (
    ARCHITECTURES,
    NETWORKS,
    Architecture,
    build_generator,
    build_model,
    check_spec,
    check_spec_against_shapes,
    depth_of,
    describe,
    has_exits,
    is_generator,
    register_architecture,
    register_network,
)

from srdistill.models.chain import ChainNetwork, MultiExitChain, slice_width  # isort: skip
from srdistill.models.adaptor import FeatureAdaptor  # isort: skip
from srdistill.models.discriminator import Discriminator  # isort: skip
from srdistill.models.srresnet import (  # isort: skip
    MultiExitSRResNet,
    SRResNet,
    SRResNetOptions,
    copy_first_blocks,
)
from srdistill.models.edsr import EDSR, EDSROptions  # isort: skip
from srdistill.models.rcan import RCAN, RCANOptions  # isort: skip
from srdistill.models.imdn import IMDN, IMDNOptions  # isort: skip
from srdistill.models.carn import CARNM, CARNMOptions  # isort: skip
from srdistill.models.rfdn import RFDN, RFDNOptions  # isort: skip
from srdistill.models.foreign import LAYOUTS, ForeignLayout, ImportRequest, register_layout  # isort: skip

__all__ = [
    "ARCHITECTURES",
    "CARNM",
    "CARNMOptions",
    "LAYOUTS",
    "RFDN",
    "RFDNOptions",
    "ForeignLayout",
    "ImportRequest",
    "register_layout",
    "EDSR",
    "IMDN",
    "NETWORKS",
    "RCAN",
    "Architecture",
    "ChainNetwork",
    "Discriminator",
    "EDSROptions",
    "FeatureAdaptor",
    "IMDNOptions",
    "MultiExitChain",
    "MultiExitSRResNet",
    "RCANOptions",
    "SRResNet",
    "SRResNetOptions",
    "build_generator",
    "build_model",
    "check_spec",
    "check_spec_against_shapes",
    "copy_first_blocks",
    "depth_of",
    "describe",
    "has_exits",
    "is_generator",
    "register_architecture",
    "register_network",
    "slice_width",
]

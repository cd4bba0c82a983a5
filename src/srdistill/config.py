"""The config API: the schema (srdistill.schema) with the built-ins and plugins loaded.

``srdistill.schema`` holds the config's types, parsing and validation and the registries
that architectures and methods fill when imported; it imports none of them, so models,
methods and the engine read it from below. This module sits above them: before building
or listing a config it imports the built-in architectures and methods and then the
plugins (``srdistill.plugins`` entry points, modules named in $SRDISTILL_PLUGINS), so
every config, from the CLI or from Python, sees every registered option.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from srdistill import schema as _schema
from srdistill.errors import ConfigError
from srdistill.schema import (  # noqa: F401  (re-exported: the public config API)
    CONFIG_DIR,
    CONFIG_SCHEMA,
    DEFAULT_ARCH,
    DEFAULT_METHOD,
    LEGACY_VALUES,
    MAX_CONFIG_BYTES,
    MAX_YAML_ALIASES,
    METHOD_OPTIONS,
    MODEL_OPTIONS,
    DataConfig,
    MethodEntry,
    MethodOptions,
    ModelEntry,
    ModelOptions,
    OptimConfig,
    RunConfig,
    TrainConfig,
    changed_keys,
    check_non_negative,
    check_positive,
    check_range,
    choices,
    deep_merge,
    flatten,
    is_multi_exit,
    parse_override,
    read_yaml,
    register_method_options,
    register_model_options,
    require_single_output,
    resolve_config_path,
    save_config,
    shipped_configs,
    short_repr,
)

PLUGIN_GROUP = "srdistill.plugins"  # entry-point group of installed plugin packages
PLUGIN_ENV = "SRDISTILL_PLUGINS"  # comma-separated modules to import as plugins
_PLUGINS_LOADED = False


def ensure_builtins() -> None:
    """Register the built-in architectures and methods, then the plugins: every
    ``srdistill.plugins`` entry point and every module named in $SRDISTILL_PLUGINS, each
    of which registers its own."""
    global _PLUGINS_LOADED
    import srdistill.methods  # noqa: F401  (registers the methods)
    import srdistill.models  # noqa: F401  (registers the architectures)

    if _PLUGINS_LOADED:
        return
    _PLUGINS_LOADED = True
    from importlib.metadata import entry_points

    for entry in entry_points(group=PLUGIN_GROUP):
        entry.load()
    for name in filter(None, (n.strip() for n in os.environ.get(PLUGIN_ENV, "").split(","))):
        try:
            importlib.import_module(name)
        except ImportError as exc:
            _PLUGINS_LOADED = False
            raise ConfigError(
                f"{PLUGIN_ENV} names {name!r}, which does not import ({exc}); fix the name "
                "or the module's path (PYTHONPATH)"
            ) from None


def load_config(
    path: str | Path | None = None,
    preset: str | None = None,
    overrides: list[str] | None = None,
    base: dict | None = None,
) -> RunConfig:
    """Read a YAML config, apply a preset and overrides, and validate everything."""
    ensure_builtins()
    return _schema.load_config(path, preset, overrides, base)


def config_from_dict(raw: dict[str, Any]) -> RunConfig:
    """A validated RunConfig from plain data (what a YAML file holds)."""
    ensure_builtins()
    return _schema.config_from_dict(raw)


def read_saved_config(path: str | Path) -> RunConfig:
    """A run's saved config.yaml, migrated explicitly (see srdistill.schema)."""
    ensure_builtins()
    return _schema.read_saved_config(path)


def all_config_keys() -> list[str]:
    """Every key a config may set, with every registered architecture and method."""
    ensure_builtins()
    return _schema.all_config_keys()


__all__ = [
    "CONFIG_DIR",
    "CONFIG_SCHEMA",
    "DEFAULT_ARCH",
    "DEFAULT_METHOD",
    "DataConfig",
    "LEGACY_VALUES",
    "MAX_CONFIG_BYTES",
    "MAX_YAML_ALIASES",
    "METHOD_OPTIONS",
    "MODEL_OPTIONS",
    "MethodEntry",
    "MethodOptions",
    "ModelEntry",
    "ModelOptions",
    "OptimConfig",
    "PLUGIN_ENV",
    "PLUGIN_GROUP",
    "RunConfig",
    "TrainConfig",
    "all_config_keys",
    "changed_keys",
    "check_non_negative",
    "check_positive",
    "check_range",
    "choices",
    "config_from_dict",
    "deep_merge",
    "ensure_builtins",
    "flatten",
    "is_multi_exit",
    "load_config",
    "parse_override",
    "read_saved_config",
    "read_yaml",
    "register_method_options",
    "register_model_options",
    "require_single_output",
    "resolve_config_path",
    "save_config",
    "shipped_configs",
    "short_repr",
]

"""Deployment: loading models for inference, exit extraction, upscaling, export, profiling."""

from srdistill.deploy.loading import LoadedModel, load_sr_model

__all__ = ["LoadedModel", "load_sr_model"]

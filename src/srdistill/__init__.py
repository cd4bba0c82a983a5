"""srdistill: knowledge distillation for image super-resolution."""

__version__ = "0.1.0"

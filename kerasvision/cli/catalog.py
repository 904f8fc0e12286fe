"""Registry listings: `models` and `backbones`."""

from __future__ import annotations

import click

__all__ = ["backbones_command", "models_command"]


@click.command("models")
def models_command():
    """List the registered architectures."""
    from kerasvision.models import MODELS, list_models

    for name in list_models():
        spec = MODELS[name]
        click.echo(f"{name:18s} min {spec.min_size:>3}px  {spec.description}")


@click.command("backbones")
@click.option("--pattern", default="*", show_default=True, help="Glob on names.")
def backbones_command(pattern):
    """List the keras.applications backbones: sizes, parameters, preprocessing."""
    from kerasvision.models.backbones import BACKBONES, list_backbones

    click.echo(
        f"{'name':22s} {'default':>7s} {'min':>4s} {'params (no top)':>16s}  "
        f"preprocessing"
    )
    for name in list_backbones(pattern):
        spec = BACKBONES[name]
        click.echo(
            f"{name:22s} {spec.default_size:>7d} {spec.min_size:>4d} "
            f"{spec.params:>16,d}  {spec.preprocessing or 'inside the model'}"
        )

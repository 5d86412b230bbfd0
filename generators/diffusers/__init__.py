"""The diffusers generator: loading pipelines, presets, devices, prompts, IP-Adapter identity,
regional prompts and typed outputs, behind the registry's ``diffusers:`` backend.
"""

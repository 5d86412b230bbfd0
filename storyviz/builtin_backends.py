"""The built-in backends, declared the way a plugin declares its own (docs/plugins.md).

Each constant is a `BackendEntry` that pyproject.toml also publishes as an entry point of the
group ``storyviz.backends`` (``generator.sketch = "storyviz.builtin_backends:GENERATOR_SKETCH"``),
so anything reading the group sees the built-ins. The registry itself takes them from `BUILTINS`
below, never from storyviz's own metadata: a source tree on PYTHONPATH has none, and an editable
install's copy is stale until ``pip install -e .`` is run again. tests/test_plugins.py keeps the
two lists equal.

Only module paths are written here; nothing is imported until a backend is built.
"""

from __future__ import annotations

from storyviz.registry import BackendEntry, Role

_LLM_PLANNER = "storyviz.agents.planner.llm.backend:llm_planner"
_LLM_REPAIRER = "storyviz.agents.repairer_llm:llm_repairer"

_OPENAI = "openai:gpt-4.1-mini"
_COMPAT = "openai-compat:http://127.0.0.1:11434/v1#llama3.1"
_GEMINI = "gemini:gemini-2.5-flash"

PLANNER_OFFLINE = BackendEntry(
    "storyviz.agents.planner.rules.offline:OfflinePlanner",
    "rule-based planner: beats, characters, dialogue, settings, shots (no key, no network)",
    model="none",
)
PLANNER_OPENAI = BackendEntry(
    _LLM_PLANNER,
    "OpenAI model, structured output (OPENAI_API_KEY)",
    extra="openai",
    model="required",
    example=_OPENAI,
)
PLANNER_OPENAI_COMPAT = BackendEntry(
    _LLM_PLANNER,
    "any OpenAI-compatible server: Ollama, vLLM, llama.cpp, LM Studio (URL#MODEL); "
    "no key sent unless ?key_env=VAR",
    extra="openai",
    model="required",
    example=_COMPAT,
)
PLANNER_GEMINI = BackendEntry(
    _LLM_PLANNER,
    "Gemini via google-genai (GEMINI_API_KEY)",
    extra="gemini",
    model="required",
    example=_GEMINI,
)

GENERATOR_SKETCH = BackendEntry(
    "storyviz.generators.sketch:SketchGenerator",
    "deterministic Pillow storyboard; ?drift=0..1 perturbs first renders (demo aid)",
    model="none",
)
GENERATOR_DIFFUSERS = BackendEntry(
    "storyviz.generators.diffusers.backend:DiffusersGenerator",
    "diffusers pipelines: SD-Turbo, SDXL(-Turbo), SD 1.5, FLUX.1-schnell or a local "
    "folder; ?steps=&guidance=&size=&device=&dtype=&offload=&negative="
    "&ip_adapter=&ip_scale=&layout=",
    extra="diffusers",
    model="required",
    example="diffusers:stabilityai/sd-turbo or diffusers:/path/to/local/model",
)
GENERATOR_MSDIFFUSION = BackendEntry(
    "storyviz.generators.msdiffusion.backend:MSDiffusionGenerator",
    "MS-Diffusion on SDXL: each cast member's reference sheet drawn inside its box "
    "(ms_adapter.bin + CLIP ViT-bigG); ?adapter=&image_encoder=&scale=&max_subjects="
    "&overflow=largest|error&reference=figure|sheet&heads=&fourier_freqs=&steps=&guidance="
    "&size=&device=&dtype=&offload=&negative=",
    extra="diffusers",
    model="required",
    example="msdiffusion:stabilityai/stable-diffusion-xl-base-1.0"
    "?adapter=/models/ms_adapter.bin&image_encoder=/models/clip-vit-bigG-14",
)
GENERATOR_DIFFSENSEI = BackendEntry(
    "storyviz.generators.diffsensei.backend:DiffSenseiGenerator",
    "DiffSensei without its MLLM: manga-tuned SDXL, up to 4 characters from their reference "
    "sheets in their boxes, the lettering's balloon regions left for text; ?ip_scale="
    "&max_subjects=&overflow=largest|error&dialogs=&max_dialogs=&reference=figure|sheet&grey="
    "&magi_mask=off|release&heads=&steps=&guidance=&size=&device=&dtype=&offload=&negative=",
    extra="diffusers",
    model="required",
    example="diffsensei:jianzongwu/DiffSensei or diffsensei:/models/DiffSensei",
)
GENERATOR_DSD = BackendEntry(
    "storyviz.generators.dsd.backend:DSDGenerator",
    "Diffusion Self-Distillation on FLUX.1-dev: the panel drawn from the principal cast member's "
    "reference sheet (fine-tuned transformer + LoRA; non-commercial FLUX.1 [dev] licence); "
    "?transformer=&lora=&cast=principal|collage&reference=figure|sheet&steps=&guidance=&size="
    "&device=&dtype=&offload=none|model|sequential",
    extra="diffusers",
    model="required",
    example="dsd:black-forest-labs/FLUX.1-dev or dsd:/models/FLUX.1-dev"
    "?transformer=/models/dsd_model/transformer"
    "&lora=/models/dsd_model/pytorch_lora_weights.safetensors",
)
GENERATOR_OPENAI_IMAGE = BackendEntry(
    "storyviz.generators.openai_image:OpenAIImageGenerator",
    "OpenAI image API (gpt-image-1): cast references and masked repairs via images.edit "
    "(OPENAI_API_KEY)",
    extra="openai",
    model="required",
    example="openai-image:gpt-image-1",
)
GENERATOR_GEMINI_IMAGE = BackendEntry(
    "storyviz.generators.gemini_image:GeminiImageGenerator",
    "Gemini image models (gemini-2.5-flash-image) with the cast's reference sheets "
    "(GEMINI_API_KEY)",
    extra="gemini",
    model="required",
    example="gemini-image:gemini-2.5-flash-image",
)

AUDITOR_OFFLINE = BackendEntry(
    "storyviz.evaluators.color_auditor:ColorAuditor",
    "pixel auditor: CIELAB colour attributes and presence per character region",
    model="none",
)
AUDITOR_VLM = BackendEntry(
    "storyviz.evaluators.vlm.backend:vlm_auditor",
    "vision-language model auditor: vlm:openai:MODEL, vlm:gemini:MODEL, "
    "vlm:openai-compat:URL#MODEL",
    extra="llm",
    model="required",
    example="vlm:openai:gpt-4.1-mini or vlm:openai-compat:http://127.0.0.1:11434/v1#llava",
)
AUDITOR_CLIP = BackendEntry(
    "storyviz.evaluators.identity.backends:clip_auditor",
    "open_clip identity: crop per character vs its reference; clip:ViT-B-32"
    "?pretrained=NAME_OR_PATH or clip:/local/dir; ?threshold=&detector=&device=",
    extra="clip",
    model="required",
    example="clip:ViT-B-32?pretrained=laion2b_s34b_b79k",
)
AUDITOR_DINO = BackendEntry(
    "storyviz.evaluators.identity.backends:dino_auditor",
    "DINOv2 identity (transformers): dino:facebook/dinov2-small or a folder; "
    "?threshold=&detector=&device=",
    extra="clip",
    model="required",
    example="dino:facebook/dinov2-small",
)

REPAIRER_OFFLINE = BackendEntry(
    "storyviz.agents.repairer:RuleRepairer",
    "rule-based repairer: inpaint the drifted characters' boxes (else reprompt), then reseed",
    model="none",
)
REPAIRER_OPENAI = BackendEntry(
    _LLM_REPAIRER,
    "OpenAI model chooses repairs",
    extra="openai",
    model="required",
    example=_OPENAI,
)
REPAIRER_OPENAI_COMPAT = BackendEntry(
    _LLM_REPAIRER,
    "OpenAI-compatible server chooses repairs (URL#MODEL; ?key_env=VAR for a key)",
    extra="openai",
    model="required",
    example=_COMPAT,
)
REPAIRER_GEMINI = BackendEntry(
    _LLM_REPAIRER,
    "Gemini chooses repairs",
    extra="gemini",
    model="required",
    example=_GEMINI,
)

BUILTINS: dict[Role, dict[str, BackendEntry]] = {
    "planner": {
        "offline": PLANNER_OFFLINE,
        "openai": PLANNER_OPENAI,
        "openai-compat": PLANNER_OPENAI_COMPAT,
        "gemini": PLANNER_GEMINI,
    },
    "generator": {
        "sketch": GENERATOR_SKETCH,
        "diffusers": GENERATOR_DIFFUSERS,
        "msdiffusion": GENERATOR_MSDIFFUSION,
        "diffsensei": GENERATOR_DIFFSENSEI,
        "dsd": GENERATOR_DSD,
        "openai-image": GENERATOR_OPENAI_IMAGE,
        "gemini-image": GENERATOR_GEMINI_IMAGE,
    },
    "auditor": {
        "offline": AUDITOR_OFFLINE,
        "vlm": AUDITOR_VLM,
        "clip": AUDITOR_CLIP,
        "dino": AUDITOR_DINO,
    },
    "repairer": {
        "offline": REPAIRER_OFFLINE,
        "openai": REPAIRER_OPENAI,
        "openai-compat": REPAIRER_OPENAI_COMPAT,
        "gemini": REPAIRER_GEMINI,
    },
}

{
  "variables": {
    "gb_cflags": ["-O3", "-fPIC", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"]
  },
  "target_defaults": {
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "src"],
    "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_ENABLE_TYPE_CHECK_ON_AS"],
    "cflags!": ["-fno-exceptions", "-O2", "-O0"],
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-O2", "-O0"],
    "cflags_cc": ["<@(gb_cflags)", "-std=gnu++17"]
  },
  "targets": [
    {
      "target_name": "gearbox",
      "sources": [
        "src/addon/addon.cc",
        "src/addon/convert.cc",
        "src/addon/model_wrap.cc",
        "src/addon/testing.cc",
        "src/common/error.cc",
        "src/backend/backend.cc",
        "src/backend/cpu/cpu_backend.cc",
        "src/backend/cpu/cpu_plan.cc",
        "src/backend/cpu/forward.cc",
        "src/backend/cpu/huge_map.cc",
        "src/backend/cpu/kv_storage.cc",
        "src/backend/cpu/plan_store.cc",
        "src/backend/cpu/tuner.cc",
        "src/backend/cpu/weights.cc",
        "src/engine/engine.cc",
        "src/gears/ladder.cc",
        "src/gears/plan_cache.cc",
        "src/gguf/ggml_type.cc",
        "src/gguf/gguf.cc",
        "src/kernels/arm_neon.cc",
        "src/kernels/arm_neon_dotprod.cc",
        "src/kernels/attention_neon.cc",
        "src/kernels/attention_portable.cc",
        "src/kernels/dispatch.cc",
        "src/kernels/formats.cc",
        "src/kernels/pack.cc",
        "src/kernels/portable.cc",
        "src/kernels/ref.cc",
        "src/kv/kv_cache.cc",
        "src/model/config.cc",
        "src/model/model.cc",
        "src/sampler/sampler.cc",
        "src/threads/pool.cc"
      ],
      "conditions": [
        ["target_arch=='x64'", {
          "dependencies": ["gearbox_avx2", "gearbox_avx2_vnni", "gearbox_avx512"]
        }, {
          "sources": ["src/kernels/x86_avx2.cc", "src/kernels/attention_avx2.cc", "src/kernels/x86_avx512.cc", "src/kernels/attention_avx512.cc"]
        }]
      ]
    }
  ],
  "conditions": [
    ["target_arch=='x64'", {
      "targets": [
        {
          "target_name": "gearbox_avx2",
          "type": "static_library",
          "sources": ["src/kernels/x86_avx2.cc", "src/kernels/attention_avx2.cc"],
          "defines": ["GB_BUILD_AVX2"],
          "cflags_cc": ["-mavx2", "-mfma", "-mf16c"]
        },
        {
          "target_name": "gearbox_avx2_vnni",
          "type": "static_library",
          "sources": ["src/kernels/x86_avx2.cc"],
          "defines": ["GB_BUILD_AVX2", "GB_AVX2_VNNI"],
          "cflags_cc": ["-mavx2", "-mfma", "-mf16c", "-mavxvnni"]
        },
        {
          "target_name": "gearbox_avx512",
          "type": "static_library",
          "sources": ["src/kernels/x86_avx512.cc", "src/kernels/attention_avx512.cc"],
          "defines": ["GB_BUILD_AVX512"],
          "cflags_cc": ["-Wno-maybe-uninitialized", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx512vnni", "-mavx512bf16", "-mfma", "-mf16c"]
        }
      ]
    }]
  ]
}

// A model file opened for loading: the GGUF mmapped and its header checked, the hyper-parameters
// read (Config), and what identifies the model to every device (Model). The tensors are the
// backend's to upload (Backend::load_weights); the file is closed once they are.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "model/config.h"

namespace gb {

class GgufFile;

// Device-neutral facts of a loaded model.
struct Model {
  std::string path;
  size_t file_bytes = 0;
  LlamaConfig config;
  uint64_t shape_hash = 0;  // hash of hyper-parameters and tensor types (keys persisted plans)
};

class ModelFile {
 public:
  // mmaps and parses the file; throws EngineError with a clear message on any problem.
  explicit ModelFile(const std::string& path);
  ~ModelFile();
  ModelFile(const ModelFile&) = delete;
  ModelFile& operator=(const ModelFile&) = delete;

  const GgufFile& gguf() const { return *gguf_; }
  const Model& model() const { return model_; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::unique_ptr<GgufFile> gguf_;
  Model model_;
};

}  // namespace gb

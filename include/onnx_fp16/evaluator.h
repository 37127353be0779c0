// The CPU evaluator: runs an ONNX model, float16 tensors stored as float16 (each float16 value
// a node writes is rounded to float16, as GPU runtimes that accumulate in float32 do; see
// docs/evaluator.md for the contract).
//
//   onnx_fp16::Evaluator evaluator(model);                        // load once
//   auto outputs = evaluator.run({{"x", x}});                     // run many times
//   const onnx_fp16::Tensor& y = outputs.at("y");
#pragma once

#include <onnx/onnx_pb.h>
#include <onnx_fp16/error.h>  // what run() and the constructor throw
#include <onnx_fp16/tensor.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace onnx_fp16 {

namespace runtime {
class Executor;
}

// One run's inputs (one sample): a tensor per graph input, by name.
using Feeds = std::map<std::string, Tensor>;

struct EvaluatorOptions {
  // Threads kernels may use; 0 means the machine's hardware threads. Results do not depend on it.
  int threads = 0;
  // Values of the main graph (node outputs, inputs, initializers) to return from run() besides
  // the graph outputs: for inspecting intermediates. They are not freed during the run.
  std::vector<std::string> keep;
  // Resource limits against hostile or broken models; exceeding one is an onnx_fp16::Error
  // naming the node, not an out-of-memory kill or a hang.
  // The most bytes any one tensor, and the run's intermediate tensors together, may take;
  // 0: the machine's physical memory.
  std::size_t memory_limit = 0;
  // The most iterations one Loop node may run; 0: no limit.
  std::int64_t max_loop_iterations = 100'000'000;
};

// What a run used, for memory reports and tests.
struct RunStats {
  // The most node-produced tensors held at one time (graph inputs and initializers not counted),
  // and their bytes (strings not counted).
  std::size_t peak_live_tensors = 0;
  std::size_t peak_live_bytes = 0;
  std::size_t nodes_run = 0;  // including nodes of subgraphs, once per execution
  // Wall-clock seconds of each main-graph node, in the order they ran (a node with subgraphs,
  // such as If or Loop, includes them): where a run's time goes (`onnx-fp16 run --profile`).
  // Measured only for a run given a RunStats.
  struct NodeTime {
    std::string name;
    std::string op_type;
    double seconds = 0;
  };
  std::vector<NodeTime> node_times;
};

// A graph input as the model declares it.
struct InputInfo {
  std::string name;
  DataType type = onnx::TensorProto::UNDEFINED;  // UNDEFINED: the model does not say
  bool has_shape = false;                        // false: any rank
  std::vector<std::int64_t> dims;                // -1 where the size is symbolic or unknown
  std::vector<std::string> dim_names;            // the symbol ("batch") where there is one
  bool has_default = false;                      // an initializer of the same name: feeding it is optional
};

class Evaluator {
 public:
  // Prepares `model` (its structure copied, its weights copied once into the evaluator's
  // tensors: `model` is not needed after the constructor returns): resolves every node's kernel
  // at its opset, converts initializers and constant attributes to tensors, orders the nodes and
  // plans when each value is freed.
  // Throws onnx_fp16::Error for an operator without a kernel ("unsupported operator
  // <domain>::<op> (opset N) at node '<name>'"), an undefined value, a value to keep that does
  // not exist, or a graph input that is not a tensor.
  explicit Evaluator(const onnx::ModelProto& model, EvaluatorOptions options = {});
  // Loads the model at `path` (its external data too, as load_model does) with its weights read
  // from the files straight into the evaluator's tensors: they are held once, never also in a
  // protobuf. Same checks as above, and load_model's errors for the files.
  explicit Evaluator(const std::filesystem::path& path, EvaluatorOptions options = {});
  // A serialized ModelProto in memory, its weights copied once, straight from `serialized` into
  // the evaluator's tensors (a ModelProto parsed first would hold them twice more on the way).
  // `serialized` is not read after the constructor returns. Same checks as the first form;
  // bytes protobuf cannot parse are an onnx_fp16::Error.
  explicit Evaluator(std::span<const std::byte> serialized, EvaluatorOptions options = {});
  ~Evaluator();
  Evaluator(Evaluator&&) noexcept;
  Evaluator& operator=(Evaluator&&) noexcept;

  // Runs the model on `feeds` (by input name) and returns every graph output and every value of
  // options.keep, by name. Safe to call from several threads at once. Throws onnx_fp16::Error
  // for a missing, unknown, wrongly typed or wrongly shaped feed (naming the input and what it
  // expects), and for a kernel's failure (naming the node).
  std::map<std::string, Tensor> run(const Feeds& feeds, RunStats* stats = nullptr) const;

  const std::vector<InputInfo>& inputs() const;
  // The graph outputs' names, in graph order.
  const std::vector<std::string>& output_names() const;

  // Tensor buffers freed by runs are kept for the next run (process-wide, shared by every
  // evaluator, at most 1 GiB or a sixteenth of physical memory): a fresh page costs ~1.2 ms per
  // MB on the machines measured, and a run asks for the same sizes again. This gives back to the
  // system every kept buffer that is not part of a block still partly in use, and returns how
  // many bytes that was. Evaluators keep working; their next run allocates again. For a
  // long-lived process (a Python session) done with evaluating for a while.
  static std::size_t release_cached_memory();

 private:
  std::unique_ptr<runtime::Executor> executor_;
};

}  // namespace onnx_fp16

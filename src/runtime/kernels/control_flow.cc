// If, Loop and Scan: kernels that run their graph attributes through ctx.run_subgraph, which
// makes the enclosing scopes' values visible inside. Values are tensors only (sequences and
// optionals, which Loop accepts from opset 13/16, are not supported).
#include <algorithm>
#include <limits>

#include "runtime/axis_ops.h"
#include "runtime/kernel_registry.h"

namespace onnx_fp16::runtime {

namespace {

void set_outputs(KernelContext& ctx, std::vector<Tensor> values, std::size_t first = 0) {
  for (std::size_t i = 0; i < values.size(); ++i) ctx.set_output(first + i, std::move(values[i]));
}

void if_kernel(KernelContext& ctx) {
  const bool condition = scalar_to_bool(ctx.input(0));
  const char* branch = condition ? "then_branch" : "else_branch";
  auto outputs = ctx.run_subgraph(branch, {});
  if (outputs.size() != ctx.output_count()) {
    ctx.fail(std::string(branch) + " has " + std::to_string(outputs.size()) + " outputs, the node " +
             std::to_string(ctx.output_count()));
  }
  set_outputs(ctx, std::move(outputs));
}

// The scan output of a loop that ran zero times: empty along the stacked axis, with the body
// output's declared element type and, where the body declares them all, its dimensions.
Tensor empty_scan_output(const KernelContext& ctx, std::size_t body_output) {
  const auto& value = ctx.attr_graph("body").output(static_cast<int>(body_output));
  const auto& tensor_type = value.type().tensor_type();
  const auto type = static_cast<DataType>(tensor_type.elem_type());
  if (!is_supported_data_type(type)) {
    ctx.fail("the body output '" + value.name() + "' declares no element type, needed for an empty scan output");
  }
  Shape shape{0};
  for (const auto& dim : tensor_type.shape().dim()) {
    if (!dim.has_dim_value()) return Tensor(type, {0});
    shape.push_back(dim.dim_value());
  }
  return Tensor(type, shape);
}

// Loop(M, cond, v_initial...) with body(iteration, cond, v...) -> (cond, v..., scan...).
// Without `cond` the body's condition output is ignored; without M the loop runs while cond.
void loop_kernel(KernelContext& ctx) {
  const Tensor* trip_count = ctx.optional_input(0);
  const Tensor* condition_input = ctx.optional_input(1);
  const std::int64_t max_trips =
      trip_count != nullptr ? scalar_to_int64(*trip_count) : std::numeric_limits<std::int64_t>::max();
  // A trip count beyond the limit is refused before the first iteration; a loop driven by its
  // condition alone, when it reaches the limit.
  const std::int64_t limit = ctx.max_loop_iterations();
  auto refuse = [&](const std::string& what) {
    ctx.fail(what + ", over the evaluator's limit of " + std::to_string(limit) +
             " iterations (EvaluatorOptions::max_loop_iterations, --max-loop-iterations)");
  };
  if (limit > 0 && trip_count != nullptr && max_trips > limit) {
    refuse("has a trip count of " + std::to_string(max_trips));
  }
  bool condition = condition_input != nullptr ? scalar_to_bool(*condition_input) : true;
  if (ctx.input_count() < 2) ctx.fail("needs the M and cond inputs (either may be empty)");
  const std::size_t carried_count = ctx.input_count() - 2;
  std::vector<Tensor> carried;
  for (std::size_t i = 0; i < carried_count; ++i) carried.push_back(ctx.input(2 + i));
  if (ctx.output_count() < carried_count) ctx.fail("has fewer outputs than loop-carried values");
  const std::size_t scan_count = ctx.output_count() - carried_count;
  std::vector<std::vector<Tensor>> scans(scan_count);

  for (std::int64_t i = 0; i < max_trips && condition; ++i) {
    if (limit > 0 && i == limit) refuse("ran " + std::to_string(limit) + " iterations and its condition still holds");
    std::vector<Tensor> body_inputs{Tensor::scalar(i), Tensor::scalar(condition)};
    body_inputs.insert(body_inputs.end(), carried.begin(), carried.end());
    auto outputs = ctx.run_subgraph("body", std::move(body_inputs));
    if (outputs.size() != 1 + carried_count + scan_count) {
      ctx.fail("the body has " + std::to_string(outputs.size()) + " outputs, expected " +
               std::to_string(1 + carried_count + scan_count));
    }
    if (condition_input != nullptr) condition = scalar_to_bool(outputs[0]);
    for (std::size_t k = 0; k < carried_count; ++k) carried[k] = std::move(outputs[1 + k]);
    for (std::size_t k = 0; k < scan_count; ++k) scans[k].push_back(std::move(outputs[1 + carried_count + k]));
  }
  set_outputs(ctx, std::move(carried));
  for (std::size_t k = 0; k < scan_count; ++k) {
    const std::size_t output = carried_count + k;
    ctx.set_output(output, scans[k].empty() ? empty_scan_output(ctx, 1 + output) : stack_along_axis(scans[k], 0));
  }
}

// How one Scan walks its scan inputs and builds its scan outputs.
struct ScanAxes {
  std::vector<std::size_t> input_axes;
  std::vector<bool> input_reversed;
  std::vector<std::int64_t> output_axes;  // may be negative: normalised against the stacked rank
  std::vector<bool> output_reversed;
};

struct ScanResult {
  std::vector<Tensor> states;
  std::vector<Tensor> scan_outputs;
};

std::vector<bool> reversed_flags(const KernelContext& ctx, const char* name, std::size_t count) {
  const auto directions = ctx.attr_ints(name, std::vector<std::int64_t>(count, 0));
  if (directions.size() != count) ctx.fail("'" + std::string(name) + "' must have " + std::to_string(count) + " values");
  std::vector<bool> reversed;
  for (const auto d : directions) reversed.push_back(d != 0);
  return reversed;
}

// The scan proper: body(states..., slices...) -> (states..., scan values...) once per slice.
ScanResult run_scan(KernelContext& ctx, std::vector<Tensor> states, const std::vector<Tensor>& scan_inputs,
                    const ScanAxes& axes) {
  std::int64_t length = -1;
  for (std::size_t j = 0; j < scan_inputs.size(); ++j) {
    const std::int64_t extent = scan_inputs[j].shape().at(axes.input_axes[j]);
    if (length >= 0 && extent != length) ctx.fail("scan inputs have different sequence lengths");
    length = extent;
  }
  if (length < 0) ctx.fail("needs at least one scan input");
  const std::size_t state_count = states.size();
  const auto body_outputs = static_cast<std::size_t>(ctx.attr_graph("body").output_size());
  if (body_outputs < state_count) ctx.fail("the body has fewer outputs than state variables");
  const std::size_t scan_output_count = body_outputs - state_count;
  std::vector<std::vector<Tensor>> scans(scan_output_count);
  for (std::int64_t t = 0; t < length; ++t) {
    std::vector<Tensor> body_inputs = states;
    for (std::size_t j = 0; j < scan_inputs.size(); ++j) {
      const std::int64_t index = axes.input_reversed[j] ? length - 1 - t : t;
      body_inputs.push_back(take_along_axis(scan_inputs[j], axes.input_axes[j], index));
    }
    auto outputs = ctx.run_subgraph("body", std::move(body_inputs));
    for (std::size_t k = 0; k < state_count; ++k) states[k] = std::move(outputs[k]);
    for (std::size_t k = 0; k < scan_output_count; ++k) scans[k].push_back(std::move(outputs[state_count + k]));
  }
  ScanResult result{std::move(states), {}};
  for (std::size_t k = 0; k < scan_output_count; ++k) {
    if (scans[k].empty()) {
      result.scan_outputs.push_back(empty_scan_output(ctx, state_count + k));
      continue;
    }
    if (axes.output_reversed[k]) std::reverse(scans[k].begin(), scans[k].end());
    const std::size_t axis = normalize_axis(axes.output_axes[k], scans[k].front().rank() + 1);
    result.scan_outputs.push_back(stack_along_axis(scans[k], axis));
  }
  return result;
}

// Scan from opset 9: no batch axis; scan axes and directions per input and output.
void scan9_kernel(KernelContext& ctx) {
  const auto scan_input_count = static_cast<std::size_t>(ctx.attr_int("num_scan_inputs"));
  if (scan_input_count > ctx.input_count()) ctx.fail("num_scan_inputs exceeds the inputs");
  const std::size_t state_count = ctx.input_count() - scan_input_count;
  const std::size_t scan_output_count = ctx.output_count() - state_count;
  std::vector<Tensor> states;
  std::vector<Tensor> scan_inputs;
  for (std::size_t i = 0; i < ctx.input_count(); ++i) (i < state_count ? states : scan_inputs).push_back(ctx.input(i));
  ScanAxes axes;
  const auto input_axes = ctx.attr_ints("scan_input_axes", std::vector<std::int64_t>(scan_input_count, 0));
  if (input_axes.size() != scan_input_count) ctx.fail("'scan_input_axes' must have one value per scan input");
  for (std::size_t j = 0; j < scan_input_count; ++j) {
    axes.input_axes.push_back(normalize_axis(input_axes[j], scan_inputs[j].rank()));
  }
  axes.input_reversed = reversed_flags(ctx, "scan_input_directions", scan_input_count);
  axes.output_axes = ctx.attr_ints("scan_output_axes", std::vector<std::int64_t>(scan_output_count, 0));
  if (axes.output_axes.size() != scan_output_count) ctx.fail("'scan_output_axes' must have one value per scan output");
  axes.output_reversed = reversed_flags(ctx, "scan_output_directions", scan_output_count);
  auto result = run_scan(ctx, std::move(states), scan_inputs, axes);
  set_outputs(ctx, std::move(result.states));
  set_outputs(ctx, std::move(result.scan_outputs), state_count);
}

// Scan at opset 8: a leading batch axis on every input and output, scan inputs scanned along
// axis 1, an optional sequence_lens first input (only full lengths are supported).
void scan8_kernel(KernelContext& ctx) {
  const auto scan_input_count = static_cast<std::size_t>(ctx.attr_int("num_scan_inputs"));
  if (scan_input_count + 1 > ctx.input_count()) ctx.fail("num_scan_inputs exceeds the inputs");
  const std::size_t state_count = ctx.input_count() - 1 - scan_input_count;
  const std::size_t scan_output_count = ctx.output_count() - state_count;
  std::vector<Tensor> states;
  std::vector<Tensor> scan_inputs;
  for (std::size_t i = 1; i < ctx.input_count(); ++i) {
    (i - 1 < state_count ? states : scan_inputs).push_back(ctx.input(i));
  }
  const Tensor& reference = state_count > 0 ? states.front() : scan_inputs.front();
  const std::int64_t batch = reference.shape().at(0);
  if (const Tensor* lengths = ctx.optional_input(0)) {
    const std::int64_t full = scan_inputs.empty() ? 0 : scan_inputs.front().shape().at(1);
    for (const auto length : to_int64_vector(*lengths)) {
      if (length != full) ctx.fail("sequence_lens shorter than the scan inputs are not supported");
    }
  }
  ScanAxes axes;
  axes.input_axes.assign(scan_input_count, 0);  // axis 1 once the batch axis is taken away
  axes.input_reversed = reversed_flags(ctx, "directions", scan_input_count);
  axes.output_axes.assign(scan_output_count, 0);
  axes.output_reversed.assign(scan_output_count, false);
  std::vector<std::vector<Tensor>> per_batch(ctx.output_count());
  for (std::int64_t b = 0; b < batch; ++b) {
    std::vector<Tensor> batch_states;
    std::vector<Tensor> batch_scans;
    for (const auto& s : states) batch_states.push_back(take_along_axis(s, 0, b));
    for (const auto& s : scan_inputs) batch_scans.push_back(take_along_axis(s, 0, b));
    auto result = run_scan(ctx, std::move(batch_states), batch_scans, axes);
    for (std::size_t k = 0; k < state_count; ++k) per_batch[k].push_back(std::move(result.states[k]));
    for (std::size_t k = 0; k < scan_output_count; ++k) {
      per_batch[state_count + k].push_back(std::move(result.scan_outputs[k]));
    }
  }
  if (batch == 0) ctx.fail("a batch of 0 is not supported");
  for (std::size_t k = 0; k < per_batch.size(); ++k) ctx.set_output(k, stack_along_axis(per_batch[k], 0));
}

}  // namespace

void register_control_flow_kernels(KernelRegistry& r) {
  r.add("If", 1, if_kernel);
  r.add("Loop", 1, loop_kernel);
  r.add("Scan", 8, scan8_kernel);
  r.add("Scan", 9, scan9_kernel);
}

}  // namespace onnx_fp16::runtime

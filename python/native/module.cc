// The native module onnx_fp16._native: the library's conversion, search, evaluator and census,
// taking models as serialized bytes or paths (so any `onnx` package version the user has works)
// and returning bytes and JSON reports. Argument checking and the spec's signatures live in the
// Python modules above it; this layer trusts the types it is given.
//
// The GIL is released while the library works; callbacks into Python (validate_fn, progress)
// take it back, and the progress callback is where Ctrl-C stops a search.
#include <onnx_fp16/convert.h>
#include <onnx_fp16/error.h>
#include <onnx_fp16/evaluator.h>
#include <onnx_fp16/inspect.h>
#include <onnx_fp16/mixed.h>
#include <onnx_fp16/model_io.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <climits>
#include <cstddef>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "arrays.h"
#include "convert/constant_conversion.h"
#include "frontend/json_text.h"
#include "frontend/option_warnings.h"
#include "frontend/output_paths.h"
#include "frontend/report_json.h"
#include "half/half.h"
#include "io/model_save.h"
#include "io/streamed_model.h"
#include "runtime/parallel.h"
#include "mixed/streamed.h"
#include "options.h"

namespace onnx_fp16::python {
namespace {

namespace py = pybind11;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::uint64_t file_size_or_zero(const fs::path& path) {
  std::error_code error;
  const auto size = fs::file_size(path, error);
  return error ? 0 : size;
}

// A model argument: bytes (a serialized ModelProto) or str (a path; external data is read from
// beside it). `data_files` receives the external data files a path's model read.
struct LoadedModel {
  onnx::ModelProto model;
  std::optional<fs::path> path;
  std::vector<fs::path> data_files;
  io::PayloadSources sources;  // where deferred weights are read from (streamed loads)
};

// The bytes of a bytes object, which keeps them alive and unchanged.
std::span<const std::byte> bytes_of(const py::object& source) {
  char* data = nullptr;
  Py_ssize_t size = 0;
  if (PyBytes_AsStringAndSize(source.ptr(), &data, &size) != 0) throw py::error_already_set();
  if (size > INT_MAX) {
    throw Error("the serialized model is " + std::to_string(size) +
                " bytes, over protobuf's 2 GB limit: save it with external data and pass its path");
  }
  return {reinterpret_cast<const std::byte*>(data), static_cast<std::size_t>(size)};
}

// `stream`: leave the large weights where they are, in a path's files or in the bytes given
// (io/streamed_model.h), which `source` keeps alive for the call; the caller then saves or
// serializes with `sources`. Without it the model is parsed whole.
LoadedModel load(const py::object& source, bool stream = false) {
  LoadedModel loaded;
  if (py::isinstance<py::bytes>(source)) {
    const std::span<const std::byte> bytes = bytes_of(source);
    py::gil_scoped_release release;
    if (stream) {
      io::StreamedModel streamed = io::load_model_streamed(bytes, "<bytes>");
      loaded.model = std::move(streamed.model);
      loaded.sources = std::move(streamed.sources);
    } else if (!loaded.model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      throw Error("the model bytes are not an ONNX model (protobuf could not parse them)");
    }
    return loaded;
  }
  loaded.path = fs::path(source.cast<std::string>());
  py::gil_scoped_release release;
  if (stream) {
    io::StreamedModel streamed = io::load_model_streamed(*loaded.path);
    loaded.model = std::move(streamed.model);
    loaded.data_files = std::move(streamed.data_files);
    loaded.sources = std::move(streamed.sources);
  } else {
    loaded.model = load_model(*loaded.path, loaded.data_files);
  }
  return loaded;
}

// A model, whose weights may wait in `sources` (a streamed load), serialized into a new bytes
// object: its layout is computed first and the weights are read straight into the object, so the
// model is never held whole in a std::string as well. The object's pages are faulted in on
// `threads` threads (0: all) before the bytes are written on one. `clamped` gets the values a
// pending float16 conversion clamped.
py::bytes serialize(const onnx::ModelProto& model, const io::PayloadSources& sources, int threads,
                    std::size_t& clamped) {
  py::object bytes;
  auto allocate = [&](std::uint64_t size) {
    if (size > INT_MAX) {
      throw Error("the result is over protobuf's 2 GB limit and cannot be returned as one ModelProto: "
                  "give an output path (the *_model_path functions) to write it with external data");
    }
    std::span<std::byte> out;
    {
      py::gil_scoped_acquire acquire;
      PyObject* object = PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(size));
      if (object == nullptr) throw py::error_already_set();
      bytes = py::reinterpret_steal<py::object>(object);
      out = {reinterpret_cast<std::byte*>(PyBytes_AS_STRING(object)), static_cast<std::size_t>(size)};
    }
    runtime::fault_in(out, threads);
    return out;
  };
  io::SaveResult saved;
  {
    py::gil_scoped_release release;
    // No limit of its own: allocate's, with its advice.
    saved = io::serialize_streamed(model, sources, allocate, std::numeric_limits<std::uint64_t>::max());
  }
  clamped = saved.values_clamped;
  return py::reinterpret_borrow<py::bytes>(bytes);
}

// Where a result goes: returned as bytes, or written to `output` (with `external_data`, a file
// name beside it) after the same checks as the CLI's.
struct Destination {
  std::optional<std::string> output;
  std::optional<std::string> external_data;
};

// The files a destination writes, against the input they must not overwrite (none for bytes).
frontend::OutputPaths output_paths(const py::object& source, const Destination& destination) {
  const fs::path input = py::isinstance<py::bytes>(source) ? fs::path() : fs::path(source.cast<std::string>());
  return {input, *destination.output, destination.external_data, std::nullopt};
}

// convert(source, options, clamp_values_given, output, external_data, input_label)
//   -> (bytes or None, report JSON text)
py::tuple convert_model(const py::object& source, const py::dict& options_dict, bool clamp_values_given,
                  std::optional<std::string> output, std::optional<std::string> external_data,
                  const std::string& input_label) {
  const Clock::time_point start = Clock::now();
  const Destination destination{std::move(output), std::move(external_data)};
  frontend::ConvertOutcome outcome;
  outcome.input = input_label;
  outcome.output = destination.output.value_or("");
  outcome.options = float16_options(options_dict);
  if (destination.output) {
    frontend::check_output_paths(output_paths(source, destination));
  }

  Clock::time_point step = Clock::now();
  // The weights stream from the input to the output as the CLI's do, from a file or the bytes.
  LoadedModel loaded = load(source, true);
  if (destination.output) frontend::check_not_input_data(output_paths(source, destination), loaded.data_files);
  outcome.seconds.load = seconds_since(step);
  if (loaded.path) outcome.files.input_file = file_size_or_zero(*loaded.path);
  const std::vector<std::string> own_warnings = frontend::option_warnings(loaded.model, outcome.options, clamp_values_given);

  step = Clock::now();
  {
    py::gil_scoped_release release;
    outcome.report = convert_float_to_float16(loaded.model, outcome.options);
  }
  outcome.seconds.convert = seconds_since(step);
  outcome.warnings = outcome.report.warnings;
  outcome.warnings.insert(outcome.warnings.end(), own_warnings.begin(), own_warnings.end());

  py::object result = py::none();
  step = Clock::now();
  if (destination.output) {
    SaveOptions save_options;
    save_options.external_data_file = destination.external_data;
    io::SaveResult saved;
    {
      py::gil_scoped_release release;
      saved = io::save_model_with_limit(loaded.model, *destination.output, save_options, io::kAutomaticExternalDataLimit,
                                        &loaded.sources);
    }
    outcome.report.values_clamped += saved.values_clamped;
    outcome.external_data_file = saved.external_data_file;
    outcome.files.output_file = file_size_or_zero(*destination.output);
    if (outcome.external_data_file) {
      outcome.files.output_data_file =
          file_size_or_zero(fs::path(*destination.output).replace_filename(*outcome.external_data_file));
    }
  } else {
    std::size_t clamped = 0;
    result = serialize(loaded.model, loaded.sources, 0, clamped);
    outcome.report.values_clamped += clamped;
  }
  outcome.seconds.save = seconds_since(step);
  outcome.seconds.total = seconds_since(start);
  return py::make_tuple(result, frontend::json_text(frontend::report_json(outcome)));
}

// A Python runner as MixedOptions::runner: runner_fn(model bytes, [ {input name: array} per
// sample ]) returns, per sample, the outputs as a list of arrays in graph output order (the
// Python side makes them C-contiguous and native-endian); the bytes faulted in on `threads` threads.
CandidateRunner python_runner(const py::object& runner_fn, int threads) {
  return [runner_fn, threads](const onnx::ModelProto& model, const std::vector<Feeds>& samples) {
    py::gil_scoped_acquire acquire;
    py::list sample_dicts;
    for (const Feeds& feeds : samples) {
      py::dict arrays;
      for (const auto& [name, tensor] : feeds) arrays[py::str(name)] = array_from_tensor(tensor);
      sample_dicts.append(arrays);
    }
    std::size_t clamped = 0;  // a runner's models hold their weights (loaded whole): nothing deferred
    const py::list per_sample = runner_fn(serialize(model, io::PayloadSources{}, threads, clamped), sample_dicts);
    std::vector<std::vector<Tensor>> outputs;
    for (std::size_t s = 0; s < per_sample.size(); ++s) {
      std::vector<Tensor> tensors;
      const py::list arrays = per_sample[s];
      for (std::size_t o = 0; o < arrays.size(); ++o) {
        tensors.push_back(tensor_from_array(arrays[o].cast<py::array>(),
                                            "the runner's output " + std::to_string(o) + " of sample " + std::to_string(s)));
      }
      outputs.push_back(std::move(tensors));
    }
    return outputs;
  };
}

// auto_mixed(source, samples, options, validate_fn, progress_fn, output, external_data, input_label, runner_fn)
//   -> (bytes or None, report JSON text)
py::tuple auto_mixed(const py::object& source, const py::list& samples_list, const py::dict& options_dict,
                     const py::object& validate_fn, const py::object& progress_fn, std::optional<std::string> output,
                     std::optional<std::string> external_data, const std::string& input_label,
                     const py::object& runner_fn) {
  const Destination destination{std::move(output), std::move(external_data)};
  MixedOptions options = mixed_options(options_dict);
  if (!runner_fn.is_none()) options.runner = python_runner(runner_fn, options.threads);
  if (!validate_fn.is_none()) {
    options.validate = [validate_fn](const std::vector<Tensor>& float32_outputs, const std::vector<Tensor>& candidate_outputs) {
      py::gil_scoped_acquire acquire;
      const py::object verdict = validate_fn(arrays_from_tensors(float32_outputs), arrays_from_tensors(candidate_outputs));
      const int truth = PyObject_IsTrue(verdict.ptr());
      if (truth < 0) throw py::error_already_set();
      return truth == 1;
    };
  }
  // Always set: between attempts is where a pending Ctrl-C (KeyboardInterrupt) ends the search.
  options.progress = [progress_fn](const MixedProgress& progress) {
    py::gil_scoped_acquire acquire;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    if (!progress_fn.is_none()) progress_fn(progress.line, progress.attempt);
  };
  if (destination.output) {
    frontend::check_output_paths(output_paths(source, destination));
  }
  // The weights stay in their files or in the bytes given, as the CLI's do (mixed/streamed.h); a
  // runner is handed whole models, so with one the model is loaded whole (as the CLI does).
  LoadedModel loaded = load(source, !options.runner);
  if (destination.output) frontend::check_not_input_data(output_paths(source, destination), loaded.data_files);
  std::vector<Feeds> samples;
  for (std::size_t s = 0; s < samples_list.size(); ++s) {
    samples.push_back(feeds_from_dict(samples_list[s].cast<py::dict>(), "sample " + std::to_string(s)));
  }

  MixedReport report;
  {
    py::gil_scoped_release release;
    report = options.runner ? auto_convert_mixed_precision(loaded.model, samples, options)
                            : mixed::auto_convert_mixed_precision(loaded.model, loaded.sources, samples, options);
  }
  py::object result = py::none();
  if (destination.output) {
    SaveOptions save_options;
    save_options.external_data_file = destination.external_data;
    py::gil_scoped_release release;
    const io::SaveResult saved = io::save_model_with_limit(loaded.model, *destination.output, save_options,
                                                           io::kAutomaticExternalDataLimit, &loaded.sources);
    report.conversion.values_clamped += saved.values_clamped;
  } else {
    std::size_t clamped = 0;
    result = serialize(loaded.model, loaded.sources, options.threads, clamped);
    report.conversion.values_clamped += clamped;
  }
  return py::make_tuple(result, frontend::json_text(frontend::mixed_report_json(report, input_label,
                                                                                 destination.output.value_or(""))));
}

// The converter's float32 -> float16 rule for constants (clamping, then round to nearest even).
py::array_t<std::uint16_t> float16_bits(const py::array_t<float, py::array::c_style>& values, float min_positive,
                                        float max_finite) {
  py::array_t<std::uint16_t> bits(std::vector<py::ssize_t>(values.shape(), values.shape() + values.ndim()));
  const std::size_t count = static_cast<std::size_t>(values.size());
  half::floats_to_halves_clamped({values.data(), count}, {bits.mutable_data(), count}, {min_positive, max_finite});
  return bits;
}

// A float32 TensorProto (serialized) converted as the converter converts initializers.
py::bytes convert_tensor(const py::bytes& tensor_bytes, float min_positive, float max_finite) {
  onnx::TensorProto tensor;
  if (!tensor.ParseFromString(tensor_bytes.cast<std::string>())) throw Error("the bytes given are not a TensorProto");
  const convert::ConstantConverter converter{onnx::TensorProto::FLOAT16, {min_positive, max_finite}};
  converter.convert(tensor);
  return py::bytes(tensor.SerializeAsString());
}

std::string census(const py::object& source, const std::string& label) {
  const LoadedModel loaded = load(source);
  Census result;
  {
    py::gil_scoped_release release;
    result = take_census(loaded.model);
  }
  return frontend::json_text(frontend::census_json(result, label));
}

py::list describe_inputs(const Evaluator& evaluator) {
  py::list inputs;
  for (const InputInfo& input : evaluator.inputs()) {
    py::dict entry;
    entry["name"] = input.name;
    entry["type"] = input.type == onnx::TensorProto::UNDEFINED ? py::object(py::none()) : py::object(py::str(data_type_name(input.type)));
    if (input.has_shape) {
      py::list dims;
      for (std::size_t d = 0; d < input.dims.size(); ++d) {
        if (input.dims[d] >= 0) {
          dims.append(input.dims[d]);
        } else if (!input.dim_names[d].empty()) {
          dims.append(input.dim_names[d]);
        } else {
          dims.append(py::none());
        }
      }
      entry["shape"] = py::tuple(dims);
    } else {
      entry["shape"] = py::none();
    }
    entry["has_default"] = input.has_default;
    inputs.append(entry);
  }
  return inputs;
}

}  // namespace
}  // namespace onnx_fp16::python

PYBIND11_MODULE(_native, m) {
  namespace py = pybind11;
  using namespace onnx_fp16;
  using namespace onnx_fp16::python;
  m.doc() = "onnx_fp16's native layer; use the onnx_fp16 package, not this module.";
  py::register_exception<Error>(m, "Error", PyExc_RuntimeError);

  m.def("default_op_block_list", [] { return default_op_block_list(); });
  // The search's tunable defaults, from their one home (MixedOptions): the Python signatures use them.
  m.def("mixed_defaults", [] {
    const MixedOptions defaults;
    py::dict d;
    d["variants"] = defaults.float16_variants;
    d["variant_spread"] = defaults.variant_spread;
    d["spread_safety"] = defaults.spread_safety;
    d["sensitivity_budget"] = defaults.sensitivity_budget;
    d["search_budget"] = defaults.search_budget;
    d["skip_predicted"] = defaults.skip_predicted_failures;
    d["max_holdout"] = kMaxHoldoutVariants;
    d["holdout"] = defaults.holdout_variants ? py::object(py::int_(*defaults.holdout_variants)) : py::object(py::none());
    return d;
  });
  m.def("convert", &convert_model);
  m.def("auto_mixed", &auto_mixed);
  m.def("float16_bits", &float16_bits);
  m.def("convert_tensor", &convert_tensor);
  m.def("census", &census);

  py::class_<Evaluator>(m, "Evaluator")
      .def(py::init([](const py::object& source, int threads, std::vector<std::string> keep, std::size_t memory_limit,
                       std::int64_t max_loop_iterations) {
        const EvaluatorOptions options{.threads = threads,
                                       .keep = std::move(keep),
                                       .memory_limit = memory_limit,
                                       .max_loop_iterations = max_loop_iterations};
        if (!py::isinstance<py::bytes>(source)) {
          // A path: weights go from the file straight into the evaluator's tensors.
          const fs::path path(source.cast<std::string>());
          py::gil_scoped_release release;
          return std::make_unique<Evaluator>(path, options);
        }
        // Serialized bytes: the weights go from them straight into the evaluator's tensors.
        const std::span<const std::byte> bytes = bytes_of(source);
        py::gil_scoped_release release;
        return std::make_unique<Evaluator>(bytes, options);
      }))
      .def("run",
           [](const Evaluator& evaluator, const py::dict& feeds_dict) {
             const Feeds feeds = feeds_from_dict(feeds_dict, "feed");
             std::map<std::string, Tensor> outputs;
             {
               py::gil_scoped_release release;
               outputs = evaluator.run(feeds);
             }
             // Graph outputs first, in graph order, then the values asked for with `keep`.
             py::dict result;
             for (const std::string& name : evaluator.output_names()) result[py::str(name)] = array_from_tensor(outputs.at(name));
             for (const auto& [name, tensor] : outputs) {
               if (!result.contains(py::str(name))) result[py::str(name)] = array_from_tensor(tensor);
             }
             return result;
           })
      .def_static("release_cached_memory",
                  [] {
                    py::gil_scoped_release release;
                    return Evaluator::release_cached_memory();
                  })
      .def_property_readonly("inputs", &describe_inputs)
      .def_property_readonly("output_names", &Evaluator::output_names);
}

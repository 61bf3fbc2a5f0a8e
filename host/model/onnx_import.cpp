#include "xbarmc/model/onnx_import.hpp"

#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include "xbarmc/errors.hpp"

namespace xbarmc::model {

namespace {

// IEEE half to float (initializers exported in float16 are widened on import).
float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000) << 16;
  std::uint32_t exp = (h >> 10) & 0x1f;
  std::uint32_t man = h & 0x3ff;
  std::uint32_t bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else {  // subnormal: renormalize
      exp = 127 - 15 + 1;
      while ((man & 0x400) == 0) {
        man <<= 1;
        --exp;
      }
      man &= 0x3ff;
      bits = sign | (exp << 23) | (man << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000 | (man << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

template <typename T>
std::vector<T> raw_as(const std::string& raw, std::int64_t count, const std::string& file, const std::string& name) {
  if (static_cast<std::int64_t>(raw.size()) != count * static_cast<std::int64_t>(sizeof(T)))
    throw InvalidInput(file, fmt::format("tensor '{}' has {} bytes of data, its shape needs {}; the file is damaged",
                                         name, raw.size(), count * sizeof(T)));
  std::vector<T> v(count);
  if (count) std::memcpy(v.data(), raw.data(), raw.size());
  return v;
}

Tensor convert_tensor(const onnx::TensorProto& tp, const std::string& file) {
  const std::string& name = tp.name();
  if (tp.data_location() == onnx::TensorProto::EXTERNAL)
    throw InvalidInput(file, fmt::format("tensor '{}' keeps its data in an external file, which is not supported; "
                                         "re-export the model with its weights inside the .onnx file",
                                         name));
  Shape shape(tp.dims().begin(), tp.dims().end());
  for (auto d : shape)
    if (d < 0) throw InvalidInput(file, fmt::format("tensor '{}' has a negative dimension", name));
  const std::int64_t n = numel(shape);
  const bool raw = tp.has_raw_data();
  const std::string& rd = tp.raw_data();
  auto check = [&](int have) {
    if (have != n)
      throw InvalidInput(file, fmt::format("tensor '{}' has {} values, its shape {} needs {}; the file is damaged",
                                           name, have, shape_str(shape), n));
  };
  Tensor t;
  t.shape = shape;
  switch (tp.data_type()) {
    case onnx::TensorProto::FLOAT:
      t.dtype = DType::f32;
      if (raw) {
        t.f = raw_as<float>(rd, n, file, name);
      } else {
        check(tp.float_data_size());
        t.f.assign(tp.float_data().begin(), tp.float_data().end());
      }
      break;
    case onnx::TensorProto::DOUBLE: {
      t.dtype = DType::f32;
      std::vector<double> d;
      if (raw) {
        d = raw_as<double>(rd, n, file, name);
      } else {
        check(tp.double_data_size());
        d.assign(tp.double_data().begin(), tp.double_data().end());
      }
      t.f.assign(d.begin(), d.end());
      break;
    }
    case onnx::TensorProto::FLOAT16: {
      t.dtype = DType::f32;
      std::vector<std::uint16_t> h;
      if (raw) {
        h = raw_as<std::uint16_t>(rd, n, file, name);
      } else {
        check(tp.int32_data_size());
        for (auto v : tp.int32_data()) h.push_back(static_cast<std::uint16_t>(v));
      }
      t.f.resize(n);
      for (std::int64_t k = 0; k < n; ++k) t.f[k] = half_to_float(h[k]);
      break;
    }
    case onnx::TensorProto::INT64:
      t.dtype = DType::i64;
      if (raw) {
        t.i = raw_as<std::int64_t>(rd, n, file, name);
      } else {
        check(tp.int64_data_size());
        t.i.assign(tp.int64_data().begin(), tp.int64_data().end());
      }
      break;
    case onnx::TensorProto::UINT64:
      t.dtype = DType::i64;
      if (raw) {
        auto u = raw_as<std::uint64_t>(rd, n, file, name);
        t.i.assign(u.begin(), u.end());
      } else {
        check(tp.uint64_data_size());
        t.i.assign(tp.uint64_data().begin(), tp.uint64_data().end());
      }
      break;
    case onnx::TensorProto::INT32:
    case onnx::TensorProto::INT16:
    case onnx::TensorProto::INT8:
    case onnx::TensorProto::UINT16:
    case onnx::TensorProto::UINT8:
    case onnx::TensorProto::UINT32:
    case onnx::TensorProto::BOOL: {
      t.dtype = DType::i64;
      if (!raw) {
        check(tp.int32_data_size());
        t.i.assign(tp.int32_data().begin(), tp.int32_data().end());
        break;
      }
      switch (tp.data_type()) {
        case onnx::TensorProto::INT32: {
          auto v = raw_as<std::int32_t>(rd, n, file, name);
          t.i.assign(v.begin(), v.end());
          break;
        }
        case onnx::TensorProto::UINT32: {
          auto v = raw_as<std::uint32_t>(rd, n, file, name);
          t.i.assign(v.begin(), v.end());
          break;
        }
        case onnx::TensorProto::INT16: {
          auto v = raw_as<std::int16_t>(rd, n, file, name);
          t.i.assign(v.begin(), v.end());
          break;
        }
        case onnx::TensorProto::UINT16: {
          auto v = raw_as<std::uint16_t>(rd, n, file, name);
          t.i.assign(v.begin(), v.end());
          break;
        }
        case onnx::TensorProto::INT8: {
          auto v = raw_as<std::int8_t>(rd, n, file, name);
          t.i.assign(v.begin(), v.end());
          break;
        }
        default: {  // UINT8, BOOL: one byte each
          auto v = raw_as<std::uint8_t>(rd, n, file, name);
          t.i.assign(v.begin(), v.end());
          break;
        }
      }
      break;
    }
    default:
      throw InvalidInput(file, fmt::format("tensor '{}' has ONNX data type {}, which is not supported (float, "
                                           "double, float16 and the integer types are)",
                                           name, static_cast<int>(tp.data_type())));
  }
  return t;
}

Attribute convert_attribute(const onnx::AttributeProto& ap, const std::string& file) {
  Attribute a;
  switch (ap.type()) {
    case onnx::AttributeProto::INT:
      a.type = Attribute::Type::integer;
      a.i = ap.i();
      a.f = static_cast<float>(ap.i());
      break;
    case onnx::AttributeProto::FLOAT:
      a.type = Attribute::Type::real;
      a.f = ap.f();
      a.i = static_cast<std::int64_t>(ap.f());
      break;
    case onnx::AttributeProto::STRING:
      a.type = Attribute::Type::text;
      a.s = ap.s();
      break;
    case onnx::AttributeProto::INTS:
      a.type = Attribute::Type::integers;
      a.ints.assign(ap.ints().begin(), ap.ints().end());
      break;
    case onnx::AttributeProto::FLOATS:
      a.type = Attribute::Type::reals;
      a.floats.assign(ap.floats().begin(), ap.floats().end());
      break;
    case onnx::AttributeProto::TENSOR:
      a.type = Attribute::Type::tensor;
      a.t = convert_tensor(ap.t(), file);
      break;
    default:
      a.type = Attribute::Type::none;  // graphs, sparse tensors: only control-flow ops use them (unsupported anyway)
      break;
  }
  return a;
}

// Constant node -> tensor (value, value_float(s), value_int(s)).
Tensor constant_value(const Node& node, const std::string& file) {
  for (const auto& [key, a] : node.attrs) {
    if (key == "value") return a.t;
    if (key == "value_float") return Tensor::from_floats({}, {a.f});
    if (key == "value_floats") return Tensor::from_floats({static_cast<std::int64_t>(a.floats.size())}, a.floats);
    if (key == "value_int") return Tensor::from_ints({}, {a.i});
    if (key == "value_ints") return Tensor::from_ints({static_cast<std::int64_t>(a.ints.size())}, a.ints);
  }
  throw InvalidInput(file, fmt::format("Constant node '{}' has no value attribute this version reads "
                                       "(value, value_float(s), value_int(s))",
                                       node.name));
}

}  // namespace

Graph import_onnx_bytes(const std::string& bytes, const std::string& source) {
  if (bytes.empty()) throw InvalidInput(source, "the file is empty; expected an ONNX model");
  onnx::ModelProto mp;
  if (!mp.ParseFromString(bytes))
    throw InvalidInput(source,
                       "not an ONNX model: the protobuf data cannot be parsed (truncated, damaged, or a "
                       "different format)");
  if (mp.ir_version() <= 0 || !mp.has_graph() || mp.graph().node_size() == 0 || mp.graph().output_size() == 0)
    throw InvalidInput(source,
                       "not an ONNX model: no IR version, graph, nodes or outputs (truncated, or a "
                       "different format)");

  Graph g;
  g.source = source;
  g.producer = mp.producer_name() + (mp.producer_version().empty() ? "" : " " + mp.producer_version());
  for (const auto& os : mp.opset_import())
    if (os.domain().empty() || os.domain() == "ai.onnx") g.opset = static_cast<int>(os.version());
  if (g.opset == 0) throw InvalidInput(source, "the model imports no version of the default ONNX operator set");

  std::unordered_map<std::string, int> ids;
  auto value_id = [&](const std::string& name) {
    auto it = ids.find(name);
    if (it != ids.end()) return it->second;
    g.value_names.push_back(name);
    const int id = static_cast<int>(g.value_names.size()) - 1;
    ids.emplace(name, id);
    return id;
  };

  const auto& gp = mp.graph();
  for (const auto& init : gp.initializer()) g.constants[value_id(init.name())] = convert_tensor(init, source);

  // Data inputs: graph inputs that are not initializers (older exporters list both).
  std::vector<const onnx::ValueInfoProto*> data_inputs;
  for (const auto& in : gp.input())
    if (!g.is_constant(value_id(in.name()))) data_inputs.push_back(&in);
  if (data_inputs.size() != 1)
    throw InvalidInput(source, fmt::format("the model has {} data inputs; xbarmc runs models with exactly one "
                                           "(the image batch)",
                                           data_inputs.size()));
  g.input_name = data_inputs[0]->name();
  g.input = value_id(g.input_name);
  for (const auto& d : data_inputs[0]->type().tensor_type().shape().dim())
    g.input_dims.push_back(d.has_dim_value() && d.dim_value() > 0 ? d.dim_value() : -1);
  const auto elem = data_inputs[0]->type().tensor_type().elem_type();
  if (elem != onnx::TensorProto::FLOAT && elem != onnx::TensorProto::UNDEFINED)
    throw InvalidInput(source, fmt::format("the input '{}' has ONNX element type {}; xbarmc feeds float32 images",
                                           g.input_name, static_cast<int>(elem)));
  g.output_name = gp.output(0).name();
  g.output = value_id(g.output_name);

  // Nodes, with Constant nodes folded into constants.
  std::vector<Node> nodes;
  for (int k = 0; k < gp.node_size(); ++k) {
    const auto& np = gp.node(k);
    Node n;
    n.op_type = np.op_type();
    n.domain = np.domain() == "ai.onnx" ? "" : np.domain();
    n.name = np.name().empty() ? fmt::format("{}_{}", n.op_type, k) : np.name();
    for (const auto& in : np.input()) n.inputs.push_back(in.empty() ? -1 : value_id(in));
    for (const auto& out : np.output()) n.outputs.push_back(out.empty() ? -1 : value_id(out));
    for (const auto& ap : np.attribute()) n.attrs[ap.name()] = convert_attribute(ap, source);
    if (n.op_type == "Constant" && n.domain.empty() && !n.outputs.empty()) {
      g.constants[n.outputs[0]] = constant_value(n, source);
      continue;
    }
    nodes.push_back(std::move(n));
  }

  // Topological order (Kahn); exporters already sort, but the standard only asks for it.
  std::vector<char> defined(g.value_names.size(), 0);
  defined[g.input] = 1;
  for (const auto& c : g.constants) defined[c.first] = 1;
  std::vector<char> placed(nodes.size(), 0);
  std::size_t done = 0;
  while (done < nodes.size()) {
    bool progress = false;
    for (std::size_t k = 0; k < nodes.size(); ++k) {
      if (placed[k]) continue;
      bool ready = true;
      for (int in : nodes[k].inputs) ready = ready && (in < 0 || defined[in]);
      if (!ready) continue;
      for (int out : nodes[k].outputs)
        if (out >= 0) defined[out] = 1;
      placed[k] = 1;
      g.nodes.push_back(std::move(nodes[k]));
      ++done;
      progress = true;
    }
    if (!progress) {
      for (std::size_t k = 0; k < nodes.size(); ++k) {
        if (placed[k]) continue;
        for (int in : nodes[k].inputs)
          if (in >= 0 && !defined[in])
            throw InvalidInput(source, fmt::format("node '{}' ({}) reads '{}', which no node, input or initializer "
                                                   "defines (a truncated or damaged file, or a graph with a cycle)",
                                                   nodes[k].name, nodes[k].op_type, g.value_names[in]));
      }
    }
  }
  if (!defined[g.output])
    throw InvalidInput(source, fmt::format("the graph output '{}' is not computed by any node", g.output_name));
  return g;
}

Graph import_onnx(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InvalidInput(path, "cannot open the model file (" + std::string(std::strerror(errno)) + ")");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw InvalidInput(path, "cannot read the model file");
  return import_onnx_bytes(ss.str(), path);
}

}  // namespace xbarmc::model

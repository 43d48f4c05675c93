#include "portico/v1/wire_bytes.h"

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace portico::v1 {

void SerializeDeterministic(const google::protobuf::Message& m, size_t size, std::string& bytes) {
  bytes.resize(size);
  google::protobuf::io::ArrayOutputStream stream(bytes.data(), static_cast<int>(size));
  google::protobuf::io::CodedOutputStream out(&stream);
  out.SetSerializationDeterministic(true);
  m.SerializeWithCachedSizes(&out);
}

std::string WireBytes(const google::protobuf::Message& m) {
  std::string bytes;
  SerializeDeterministic(m, m.ByteSizeLong(), bytes);
  return bytes;
}

bool SameWireBytes(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  if (a.GetDescriptor() != b.GetDescriptor()) return false;
  const size_t size = a.ByteSizeLong();
  if (size != b.ByteSizeLong()) return false;
  std::string wire_a, wire_b;
  SerializeDeterministic(a, size, wire_a);
  SerializeDeterministic(b, size, wire_b);
  return wire_a == wire_b;
}

}  // namespace portico::v1

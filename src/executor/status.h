// isoexec errors as gRPC statuses (codes chosen so Nomad's driver sees the right class).
#pragma once

#include <grpcpp/support/status.h>

#include "base/error.h"

namespace isoexec::executor {

grpc::StatusCode ToStatusCode(Code code);
grpc::Status ToStatus(const Error& e);

}  // namespace isoexec::executor

"""Reads the google.rpc rich error details the services put in the `grpc-status-details-bin` trailer.

Debian's python3-grpcio has no grpcio-status, so the few google.rpc messages needed are declared here in a
private descriptor pool (wire-compatible with google/rpc/status.proto and error_details.proto).
"""
from dataclasses import dataclass, field

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_T = descriptor_pb2.FieldDescriptorProto


def _message(name: str, *fields: tuple[str, int, int, int, str | None]) -> descriptor_pb2.DescriptorProto:
    message = descriptor_pb2.DescriptorProto(name=name)
    for field_name, number, kind, label, type_name in fields:
        message.field.add(name=field_name, number=number, type=kind, label=label, type_name=type_name)
    return message


_OPTIONAL, _REPEATED = _T.LABEL_OPTIONAL, _T.LABEL_REPEATED
_FILE = descriptor_pb2.FileDescriptorProto(name="contoso_retail_client/rpc_status.proto", package="google.rpc", syntax="proto3")
_FILE.message_type.extend([
    # google.protobuf.Any, wire-compatible: keeps this pool free of any.proto.
    _message("AnyDetail", ("type_url", 1, _T.TYPE_STRING, _OPTIONAL, None), ("value", 2, _T.TYPE_BYTES, _OPTIONAL, None)),
    _message("Status", ("code", 1, _T.TYPE_INT32, _OPTIONAL, None), ("message", 2, _T.TYPE_STRING, _OPTIONAL, None),
             ("details", 3, _T.TYPE_MESSAGE, _REPEATED, ".google.rpc.AnyDetail")),
    _message("Violation", ("type", 1, _T.TYPE_STRING, _OPTIONAL, None), ("subject", 2, _T.TYPE_STRING, _OPTIONAL, None),
             ("description", 3, _T.TYPE_STRING, _OPTIONAL, None)),
    _message("PreconditionFailure", ("violations", 1, _T.TYPE_MESSAGE, _REPEATED, ".google.rpc.Violation")),
    _message("FieldViolation", ("field", 1, _T.TYPE_STRING, _OPTIONAL, None), ("description", 2, _T.TYPE_STRING, _OPTIONAL, None)),
    _message("BadRequest", ("field_violations", 1, _T.TYPE_MESSAGE, _REPEATED, ".google.rpc.FieldViolation")),
])
_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(_FILE)


def _class(name: str):
    descriptor = _POOL.FindMessageTypeByName(f"google.rpc.{name}")
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(descriptor)
    return message_factory.MessageFactory(_POOL).GetPrototype(descriptor)


_Status, _PreconditionFailure, _BadRequest = _class("Status"), _class("PreconditionFailure"), _class("BadRequest")


@dataclass
class ErrorDetails:
    """What a failed call said: its code, message, and the violations it listed."""

    code: str
    message: str
    # (type, subject, description), e.g. ("INSUFFICIENT_STOCK", "DK-006", "requested 5, available 3").
    preconditions: list[tuple[str, str, str]] = field(default_factory=list)
    # (field, description), e.g. ("lines[0].quantity", "must be greater than 0").
    field_violations: list[tuple[str, str]] = field(default_factory=list)


def error_details(error: grpc.RpcError) -> ErrorDetails:
    """The status code name and the google.rpc details of a failed call (empty lists when it carried none)."""
    details = ErrorDetails(code=error.code().name, message=error.details() or "")
    trailers = dict(error.trailing_metadata() or ())
    raw = trailers.get("grpc-status-details-bin")
    if not raw:
        return details

    status = _Status.FromString(raw)
    for detail in status.details:
        kind = detail.type_url.rsplit("/", 1)[-1]
        if kind == "google.rpc.PreconditionFailure":
            details.preconditions += [(v.type, v.subject, v.description) for v in _PreconditionFailure.FromString(detail.value).violations]
        elif kind == "google.rpc.BadRequest":
            details.field_violations += [(v.field, v.description) for v in _BadRequest.FromString(detail.value).field_violations]
    return details

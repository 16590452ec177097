// A small typed client for twofa.v1.TwoFactorService on @grpc/grpc-js.
//
// The message and service types come from `npm run generate` (proto-loader-gen-types, into
// src/generated/), made with the same conversion options as LOADER_OPTIONS below: field
// names as in the .proto (keepCase), enums as their names, int64 as strings, defaults
// filled in. Each method is the RPC of the same name in proto/twofa/v1/twofa.proto and
// returns a Promise of its response. A failed call rejects with a TwoFactorError, which
// carries the google.rpc.Status details (BadRequest, RetryInfo, PreconditionFailure, ...)
// decoded from the `grpc-status-details-bin` trailer.
import * as fs from 'node:fs';
import * as path from 'node:path';

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { getProtoPath } from 'google-proto-files';
import * as protobuf from 'protobufjs';

import type { Any__Output } from './generated/google/protobuf/Any';
import type { Duration__Output } from './generated/google/protobuf/Duration';
import type { Timestamp__Output } from './generated/google/protobuf/Timestamp';
import type { BadRequest__Output } from './generated/google/rpc/BadRequest';
import type { ErrorInfo__Output } from './generated/google/rpc/ErrorInfo';
import type { PreconditionFailure__Output } from './generated/google/rpc/PreconditionFailure';
import type { QuotaFailure__Output } from './generated/google/rpc/QuotaFailure';
import type { RetryInfo__Output } from './generated/google/rpc/RetryInfo';
import type { Status__Output } from './generated/google/rpc/Status';
import type { ProtoGrpcType } from './generated/twofa';
import type { TwoFactorServiceClient } from './generated/twofa/v1/TwoFactorService';
import type { GetUserStatusRequest } from './generated/twofa/v1/GetUserStatusRequest';
import type { GetUserStatusResponse__Output } from './generated/twofa/v1/GetUserStatusResponse';
import type { BeginAuthenticatorSetupRequest } from './generated/twofa/v1/BeginAuthenticatorSetupRequest';
import type { BeginAuthenticatorSetupResponse__Output } from './generated/twofa/v1/BeginAuthenticatorSetupResponse';
import type { ConfirmAuthenticatorSetupRequest } from './generated/twofa/v1/ConfirmAuthenticatorSetupRequest';
import type { ConfirmAuthenticatorSetupResponse__Output } from './generated/twofa/v1/ConfirmAuthenticatorSetupResponse';
import type { BeginEmailSetupRequest } from './generated/twofa/v1/BeginEmailSetupRequest';
import type { BeginEmailSetupResponse__Output } from './generated/twofa/v1/BeginEmailSetupResponse';
import type { ConfirmEmailSetupRequest } from './generated/twofa/v1/ConfirmEmailSetupRequest';
import type { ConfirmEmailSetupResponse__Output } from './generated/twofa/v1/ConfirmEmailSetupResponse';
import type { DisableMethodRequest } from './generated/twofa/v1/DisableMethodRequest';
import type { DisableMethodResponse__Output } from './generated/twofa/v1/DisableMethodResponse';
import type { EvaluateLoginRequest } from './generated/twofa/v1/EvaluateLoginRequest';
import type { EvaluateLoginResponse__Output } from './generated/twofa/v1/EvaluateLoginResponse';
import type { SendLoginCodeRequest } from './generated/twofa/v1/SendLoginCodeRequest';
import type { SendLoginCodeResponse__Output } from './generated/twofa/v1/SendLoginCodeResponse';
import type { VerifyCodeRequest } from './generated/twofa/v1/VerifyCodeRequest';
import type { VerifyCodeResponse__Output } from './generated/twofa/v1/VerifyCodeResponse';
import type { RegenerateBackupCodesRequest } from './generated/twofa/v1/RegenerateBackupCodesRequest';
import type { RegenerateBackupCodesResponse__Output } from './generated/twofa/v1/RegenerateBackupCodesResponse';
import type { ListTrustedDevicesRequest } from './generated/twofa/v1/ListTrustedDevicesRequest';
import type { ListTrustedDevicesResponse__Output } from './generated/twofa/v1/ListTrustedDevicesResponse';
import type { RevokeTrustedDevicesRequest } from './generated/twofa/v1/RevokeTrustedDevicesRequest';
import type { RevokeTrustedDevicesResponse__Output } from './generated/twofa/v1/RevokeTrustedDevicesResponse';
import type { GetPolicyRequest } from './generated/twofa/v1/GetPolicyRequest';
import type { GetPolicyResponse__Output } from './generated/twofa/v1/GetPolicyResponse';
import type { UpdatePolicyRequest } from './generated/twofa/v1/UpdatePolicyRequest';
import type { UpdatePolicyResponse__Output } from './generated/twofa/v1/UpdatePolicyResponse';
import type { UnlockUserRequest } from './generated/twofa/v1/UnlockUserRequest';
import type { UnlockUserResponse__Output } from './generated/twofa/v1/UnlockUserResponse';
import type { DeleteUserRequest } from './generated/twofa/v1/DeleteUserRequest';
import type { DeleteUserResponse__Output } from './generated/twofa/v1/DeleteUserResponse';
import type { ImportAuthenticatorsRequest } from './generated/twofa/v1/ImportAuthenticatorsRequest';
import type { ImportAuthenticatorsResponse__Output } from './generated/twofa/v1/ImportAuthenticatorsResponse';

/** The conversion options the generated types were made with (see `npm run generate`). */
const LOADER_OPTIONS = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
} as const;

/** The directory holding google/rpc/*.proto and google/protobuf/*.proto (google-proto-files). */
const GOOGLE_PROTO_ROOT = path.dirname(getProtoPath());

/** proto/ of the twofa repository, which holds twofa/v1/twofa.proto (from dist/ or src/). */
export const DEFAULT_PROTO_DIR = path.resolve(__dirname, '..', '..', '..', 'proto');

export interface TwoFactorClientOptions {
  /** Sent as `authorization: Bearer <token>` on every call (twofa's `auth.token_file`). */
  token?: string | undefined;
  /** Channel credentials; default plaintext (loopback or a Unix socket). */
  credentials?: grpc.ChannelCredentials;
  /** Deadline of each call in milliseconds unless the call sets one; default 5000. */
  timeoutMs?: number;
  /** Where twofa/v1/twofa.proto is found; default the repository's proto/. */
  protoDir?: string;
  /** Extra channel options, e.g. {'grpc.max_receive_message_length': ...}. */
  channelOptions?: grpc.ChannelOptions;
}

export interface CallOptions {
  /** This call's deadline in milliseconds. */
  timeoutMs?: number;
}

/** One decoded entry of google.rpc.Status.details. */
export interface StatusDetail {
  /** The Any's type URL, e.g. type.googleapis.com/google.rpc.BadRequest. */
  typeUrl: string;
  /** The message's full name, e.g. google.rpc.BadRequest. */
  typeName: string;
  /** The decoded message, or undefined when its type is not one of google/rpc/error_details.proto. */
  message: Record<string, unknown> | undefined;
}

/** google.rpc.Status from the `grpc-status-details-bin` trailer, with its details decoded. */
export interface RichStatus {
  code: number;
  message: string;
  details: StatusDetail[];
  badRequest?: BadRequest__Output;
  retryInfo?: RetryInfo__Output;
  preconditionFailure?: PreconditionFailure__Output;
  quotaFailure?: QuotaFailure__Output;
  errorInfo?: ErrorInfo__Output;
}

/** The trailer twofa (like every server on the gRPC rich error model) puts the Status in. */
export const STATUS_DETAILS_KEY = 'grpc-status-details-bin';

let errorTypes: protobuf.Root | undefined;

/** google/rpc/status.proto and error_details.proto, loaded once with protobufjs. */
function errorDetailsRoot(): protobuf.Root {
  if (errorTypes === undefined) {
    const root = new protobuf.Root();
    root.resolvePath = (origin: string, target: string): string => {
      const candidate = path.join(GOOGLE_PROTO_ROOT, target);
      return fs.existsSync(candidate) ? candidate : protobuf.util.path.resolve(origin, target);
    };
    root.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto'], {
      keepCase: true,
    });
    errorTypes = root;
  }
  return errorTypes;
}

function decodeMessage(typeName: string, bytes: Uint8Array): Record<string, unknown> {
  const type = errorDetailsRoot().lookupType(typeName);
  return type.toObject(type.decode(bytes), LOADER_OPTIONS);
}

/**
 * Decodes google.rpc.Status from a call's trailing metadata, or undefined when the server
 * sent none. Detail types outside google/rpc/error_details.proto are kept undecoded.
 */
export function decodeRichStatus(metadata: grpc.Metadata): RichStatus | undefined {
  const [raw] = metadata.get(STATUS_DETAILS_KEY);
  if (raw === undefined || typeof raw === 'string') {
    return undefined;
  }
  const status = decodeMessage('google.rpc.Status', raw) as unknown as Status__Output;
  const rich: RichStatus = { code: status.code, message: status.message, details: [] };
  for (const any of status.details as Any__Output[]) {
    const typeName = any.type_url.slice(any.type_url.lastIndexOf('/') + 1);
    let message: Record<string, unknown> | undefined;
    if (errorDetailsRoot().lookup(typeName) instanceof protobuf.Type) {
      message = decodeMessage(typeName, any.value);
    }
    rich.details.push({ typeUrl: any.type_url, typeName, message });
    if (message === undefined) {
      continue;
    }
    switch (typeName) {
      case 'google.rpc.BadRequest':
        rich.badRequest = message as unknown as BadRequest__Output;
        break;
      case 'google.rpc.RetryInfo':
        rich.retryInfo = message as unknown as RetryInfo__Output;
        break;
      case 'google.rpc.PreconditionFailure':
        rich.preconditionFailure = message as unknown as PreconditionFailure__Output;
        break;
      case 'google.rpc.QuotaFailure':
        rich.quotaFailure = message as unknown as QuotaFailure__Output;
        break;
      case 'google.rpc.ErrorInfo':
        rich.errorInfo = message as unknown as ErrorInfo__Output;
        break;
    }
  }
  return rich;
}

/** A google.protobuf.Duration in milliseconds. */
export function durationMs(duration: Duration__Output): number {
  return Number(duration.seconds) * 1000 + duration.nanos / 1e6;
}

/** A google.protobuf.Timestamp as a Date, or undefined when unset. */
export function toDate(timestamp: Timestamp__Output | null): Date | undefined {
  return timestamp === null ? undefined : new Date(durationMs(timestamp));
}

/** A failed call: the gRPC status, and the rich error details when the server sent them. */
export class TwoFactorError extends Error {
  /** The numeric gRPC status code (grpc.status.INVALID_ARGUMENT, ...). */
  readonly code: grpc.status;
  /** Its name: INVALID_ARGUMENT, RESOURCE_EXHAUSTED, ... */
  readonly codeName: string;
  /** The decoded google.rpc.Status, when the server sent one. */
  readonly richStatus: RichStatus | undefined;

  constructor(error: grpc.ServiceError) {
    const codeName = grpc.status[error.code] ?? String(error.code);
    super(`${codeName}: ${error.details}`);
    this.name = 'TwoFactorError';
    this.code = error.code;
    this.codeName = codeName;
    this.richStatus = decodeRichStatus(error.metadata);
  }

  /** BadRequest field violations (INVALID_ARGUMENT); empty when there are none. */
  get fieldViolations(): BadRequest__Output['field_violations'] {
    return this.richStatus?.badRequest?.field_violations ?? [];
  }

  /** How long to wait before retrying, in milliseconds (RetryInfo), when the server said. */
  get retryDelayMs(): number | undefined {
    const delay = this.richStatus?.retryInfo?.retry_delay;
    return delay ? durationMs(delay) : undefined;
  }
}

type Unary<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: grpc.requestCallback<Res>,
) => grpc.ClientUnaryCall;

/** twofa.v1.TwoFactorService with Promises, a default deadline and the bearer token. */
export class TwoFactorClient {
  /** The generated grpc-js client, for what this wrapper does not cover (streams, raw metadata). */
  readonly raw: TwoFactorServiceClient;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;

  /** `target`: host:port, or unix:///path/to/socket. */
  constructor(target: string, options: TwoFactorClientOptions = {}) {
    const definition = protoLoader.loadSync('twofa/v1/twofa.proto', {
      ...LOADER_OPTIONS,
      includeDirs: [options.protoDir ?? DEFAULT_PROTO_DIR, GOOGLE_PROTO_ROOT],
    });
    const proto = grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType;
    this.raw = new proto.twofa.v1.TwoFactorService(
      target,
      options.credentials ?? grpc.credentials.createInsecure(),
      options.channelOptions,
    );
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  close(): void {
    this.raw.close();
  }

  private unary<Req, Res>(call: Unary<Req, Res>, request: Req, options?: CallOptions): Promise<Res> {
    const metadata = new grpc.Metadata();
    if (this.token !== undefined) {
      metadata.set('authorization', `Bearer ${this.token}`);
    }
    const deadline = new Date(Date.now() + (options?.timeoutMs ?? this.timeoutMs));
    return new Promise<Res>((resolve, reject) => {
      call(request, metadata, { deadline }, (error, response) => {
        if (error) {
          reject(new TwoFactorError(error));
        } else if (response === undefined) {
          reject(new Error('twofa answered without a response message'));
        } else {
          resolve(response);
        }
      });
    });
  }

  getUserStatus(request: GetUserStatusRequest, options?: CallOptions): Promise<GetUserStatusResponse__Output> {
    return this.unary<GetUserStatusRequest, GetUserStatusResponse__Output>(
      (req, metadata, callOptions, callback) => this.raw.GetUserStatus(req, metadata, callOptions, callback),
      request,
      options,
    );
  }

  beginAuthenticatorSetup(request: BeginAuthenticatorSetupRequest, options?: CallOptions): Promise<BeginAuthenticatorSetupResponse__Output> {
    return this.unary<BeginAuthenticatorSetupRequest, BeginAuthenticatorSetupResponse__Output>(
      (req, metadata, callOptions, callback) => this.raw.BeginAuthenticatorSetup(req, metadata, callOptions, callback),
      request,
      options,
    );
  }

  confirmAuthenticatorSetup(request: ConfirmAuthenticatorSetupRequest, options?: CallOptions): Promise<ConfirmAuthenticatorSetupResponse__Output> {
    return this.unary<ConfirmAuthenticatorSetupRequest, ConfirmAuthenticatorSetupResponse__Output>(
      (req, metadata, callOptions, callback) => this.raw.ConfirmAuthenticatorSetup(req, metadata, callOptions, callback),
      request,
      options,
    );
  }

  beginEmailSetup(request: BeginEmailSetupRequest, options?: CallOptions): Promise<BeginEmailSetupResponse__Output> {
    return this.unary<BeginEmailSetupRequest, BeginEmailSetupResponse__Output>(
      (req, metadata, callOptions, callback) => this.raw.BeginEmailSetup(req, metadata, callOptions, callback),
      request,
      options,
    );
  }

  confirmEmailSetup(request: ConfirmEmailSetupRequest, options?: CallOptions): Promise<ConfirmEmailSetupResponse__Output> {
    return this.unary<ConfirmEmailSetupRequest, ConfirmEmailSetupResponse__Output>(
      (req, metadata, callOptions, callback) => this.raw.ConfirmEmailSetup(req, metadata, callOptions, callback),
      request,
      options,
    );
  }

  disableMethod(request: DisableMethodRequest, options?: CallOptions): Promise<DisableMethodResponse__Output> {
    return this.unary<DisableMethodRequest, DisableMethodResponse__Output>(
      (req, metadata, callOptions, callback) => this.raw.DisableMethod(req, metadata, callOptions, callback),
      request,
      options,
    );
  }

  evaluateLogin(request: EvaluateLoginRequest, options?: CallOptions): Promise<EvaluateLoginResponse__Output> {
    return this.unary<EvaluateLoginRequest, EvaluateLoginResponse__Output>(
      (req, metadata, callOptions, callback) => this.raw.EvaluateLogin(req, metadata, callOptions, callback),
      request,
      options,
    );
  }

  sendLoginCode(request: SendLoginCodeRequest, options?: CallOptions): Promise<SendLoginCodeResponse__Output> {
    return this.unary<SendLoginCodeRequest, SendLoginCodeResponse__Output>(
      (req, metadata, callOptions, callback) => this.raw.SendLoginCode(req, metadata, callOptions, callback),
      request,
      options,
    );
  }

  verifyCode(request: VerifyCodeRequest, options?: CallOptions): Promise<VerifyCodeResponse__Output> {
    return this.unary<VerifyCodeRequest, VerifyCodeResponse__Output>(
      (req, metadata, callOptions, callback) => this.raw.VerifyCode(req, metadata, callOptions, callback),
      request,
      options,
    );
  }

  regenerateBackupCodes(request: RegenerateBackupCodesRequest, options?: CallOptions): Promise<RegenerateBackupCodesResponse__Output> {
    return this.unary<RegenerateBackupCodesRequest, RegenerateBackupCodesResponse__Output>(
      (req, metadata, callOptions, callback) => this.raw.RegenerateBackupCodes(req, metadata, callOptions, callback),
      request,
      options,
    );
  }

  listTrustedDevices(request: ListTrustedDevicesRequest, options?: CallOptions): Promise<ListTrustedDevicesResponse__Output> {
    return this.unary<ListTrustedDevicesRequest, ListTrustedDevicesResponse__Output>(
      (req, metadata, callOptions, callback) => this.raw.ListTrustedDevices(req, metadata, callOptions, callback),
      request,
      options,
    );
  }

  revokeTrustedDevices(request: RevokeTrustedDevicesRequest, options?: CallOptions): Promise<RevokeTrustedDevicesResponse__Output> {
    return this.unary<RevokeTrustedDevicesRequest, RevokeTrustedDevicesResponse__Output>(
      (req, metadata, callOptions, callback) => this.raw.RevokeTrustedDevices(req, metadata, callOptions, callback),
      request,
      options,
    );
  }

  getPolicy(request: GetPolicyRequest, options?: CallOptions): Promise<GetPolicyResponse__Output> {
    return this.unary<GetPolicyRequest, GetPolicyResponse__Output>(
      (req, metadata, callOptions, callback) => this.raw.GetPolicy(req, metadata, callOptions, callback),
      request,
      options,
    );
  }

  updatePolicy(request: UpdatePolicyRequest, options?: CallOptions): Promise<UpdatePolicyResponse__Output> {
    return this.unary<UpdatePolicyRequest, UpdatePolicyResponse__Output>(
      (req, metadata, callOptions, callback) => this.raw.UpdatePolicy(req, metadata, callOptions, callback),
      request,
      options,
    );
  }

  unlockUser(request: UnlockUserRequest, options?: CallOptions): Promise<UnlockUserResponse__Output> {
    return this.unary<UnlockUserRequest, UnlockUserResponse__Output>(
      (req, metadata, callOptions, callback) => this.raw.UnlockUser(req, metadata, callOptions, callback),
      request,
      options,
    );
  }

  deleteUser(request: DeleteUserRequest, options?: CallOptions): Promise<DeleteUserResponse__Output> {
    return this.unary<DeleteUserRequest, DeleteUserResponse__Output>(
      (req, metadata, callOptions, callback) => this.raw.DeleteUser(req, metadata, callOptions, callback),
      request,
      options,
    );
  }

  /** Moves existing authenticator apps in (1-1000 per call); one bad entry stores nothing. */
  importAuthenticators(
    request: ImportAuthenticatorsRequest,
    options?: CallOptions,
  ): Promise<ImportAuthenticatorsResponse__Output> {
    return this.unary<ImportAuthenticatorsRequest, ImportAuthenticatorsResponse__Output>(
      (req, metadata, callOptions, callback) => this.raw.ImportAuthenticators(req, metadata, callOptions, callback),
      request,
      options,
    );
  }
}

import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, type ErrorDetail } from './errors.ts';

/** The contract's error body. */
export interface ErrorBody {
  error: { code: string; message: string; details?: ErrorDetail[] };
}

function body(code: string, message: string, details?: ErrorDetail[]): ErrorBody {
  return { error: details?.length ? { code, message, details } : { code, message } };
}

/**
 * Installs the one error handler and the 404 handler. Known errors keep their code and status; a 5xx never
 * shows anything but a generic message and the request id (the details go to the log).
 */
export function installErrorHandling(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(body('route_not_found', `No route ${request.method} ${request.url.split('?')[0]}.`));
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof AppError) {
      if (error.status >= 500) request.log.error({ err: error, stripe: error.stripe }, error.message);
      else if (error.stripe)
        request.log.warn({ code: error.code, stripe: error.stripe }, 'Stripe refused the request');
      return reply.code(error.status).send(body(error.code, error.message, error.details));
    }
    if (hasZodFastifySchemaValidationErrors(error)) {
      const location = error.validationContext ?? 'body';
      const details = error.validation.map((issue) => {
        const path = (issue.instancePath || '').replace(/^\//, '').replaceAll('/', '.');
        return { field: path ? `${location}.${path}` : location, message: issue.message ?? 'invalid' };
      });
      return reply
        .code(400)
        .send(
          body('invalid_request', `Invalid ${location}: ${details.map((d) => d.field).join(', ')}.`, details),
        );
    }
    const status = error.statusCode ?? 500;
    if (status < 500) {
      // Fastify's own 4xx: malformed JSON, body too large, wrong content type.
      const code =
        error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? 'payload_too_large'
          : error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
            ? 'unsupported_media_type'
            : 'invalid_request';
      return reply.code(status).send(body(code, error.message));
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(500).send(body('internal_error', `Internal error (request ${request.id}).`));
  });
}

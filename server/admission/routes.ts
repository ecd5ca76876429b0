import type { FastifyError, FastifyPluginAsync } from "fastify";
import {
  admissionResponse,
  MalformedReviewError,
  parseAdmissionReview,
} from "../../core/admission/review.js";
import type { AdmissionService } from "./admission-service.js";

export interface AdmissionRoutesOptions {
  service: AdmissionService;
}

// kube-apiserver sends objects up to its own 3 MiB request limit, with the old object beside the new.
const MAX_REVIEW_BYTES = 8 * 1024 * 1024;

/**
 * The admission webhooks kube-apiserver calls: `validate` answers allowed or refused, `mutate` also pins
 * each admitted image to its digest. A body that is not an AdmissionReview is a 400 saying what is wrong.
 */
export const admissionRoutes: FastifyPluginAsync<AdmissionRoutesOptions> = async (app, { service }) => {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const status = err instanceof MalformedReviewError ? 400 : (err.statusCode ?? 500);
    if (status >= 500) request.log.error(err);
    const message =
      status >= 500 ? "the admission check failed" : `malformed AdmissionReview: ${err.message}`;
    return reply.code(status).send({ code: status, message });
  });
  const route = (path: string, pin: boolean) =>
    app.post(path, { bodyLimit: MAX_REVIEW_BYTES }, async (request) => {
      const review = parseAdmissionReview(request.body);
      const { answer } = await service.review(review, { pin });
      return admissionResponse(review.uid, answer);
    });
  route("/admission/validate", false);
  route("/admission/mutate", true);
};

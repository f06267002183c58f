/** One problem with a MeetingCluster, named by its field path (e.g. spec.cloud.region). */
export interface FieldError {
  path: string;
  message: string;
}

export const formatFieldError = (e: FieldError): string => `${e.path}: ${e.message}`;

/** Thrown when a spec cannot be rendered; carries every problem found, not just the first. */
export class InvalidSpecError extends Error {
  constructor(readonly errors: FieldError[]) {
    super(errors.map(formatFieldError).join('; '));
    this.name = 'InvalidSpecError';
  }
}

/** JSON-pointer-ish segments -> Kubernetes field path: ["spec","sfu","tolerations",0] -> spec.sfu.tolerations[0]. */
export function fieldPath(segments: (string | number)[]): string {
  return segments
    .map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`))
    .join('');
}

/** One problem with a MeetingCluster, named by its field path (e.g. spec.cloud.region). */
export interface FieldError {
  path: string;
  message: string;
}

export const formatFieldError = (e: FieldError): string => `${e.path}: ${e.message}`;


/** JSON-pointer-ish segments -> Kubernetes field path: ["spec","sfu","tolerations",0] -> spec.sfu.tolerations[0]. */
export function fieldPath(segments: (string | number)[]): string {
  return segments
    .map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`))
    .join('');
}

// Builds the CustomResourceDefinition from the schema in schema.ts. `meet-operator crds` prints
// it and `make generate` writes it to crds/; a test fails when crds/ is stale.
import { meetingClusterSchema } from './schema.js';
import { GROUP, KIND, PLURAL, SHORT_NAMES, SINGULAR, VERSION } from './types.js';

export const CRD_NAME = `${PLURAL}.${GROUP}`;

export function meetingClusterCRD(): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: CRD_NAME,
      labels: { 'app.kubernetes.io/name': 'meet-operator', 'app.kubernetes.io/part-of': 'meet-operator' },
    },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: { kind: KIND, listKind: `${KIND}List`, plural: PLURAL, singular: SINGULAR, shortNames: SHORT_NAMES, categories: ['meet'] },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: meetingClusterSchema },
          subresources: {
            status: {},
            scale: {
              specReplicasPath: '.spec.sfu.replicas',
              statusReplicasPath: '.status.replicas',
              labelSelectorPath: '.status.selector',
            },
          },
          additionalPrinterColumns: [
            { name: 'Ministry', type: 'string', jsonPath: '.spec.ministry' },
            { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
            { name: 'Replicas', type: 'integer', jsonPath: '.status.replicas' },
            { name: 'Participants', type: 'integer', jsonPath: '.status.participants' },
            { name: 'Desired', type: 'integer', jsonPath: '.status.desiredReplicas', priority: 1 },
            { name: 'Scaling', type: 'string', jsonPath: '.status.conditions[?(@.type=="ScalingActive")].reason', priority: 1 },
            { name: 'Upgrade', type: 'string', jsonPath: '.status.conditions[?(@.type=="Upgrading")].reason', priority: 1 },
            { name: 'Domain', type: 'string', jsonPath: '.spec.domain', priority: 1 },
            { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason', priority: 1 },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
        },
      ],
    },
  };
}

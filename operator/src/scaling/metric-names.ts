// Prometheus series livekit-server v1.13.5 serves on `prometheus.port` (any path), read in its
// source (pkg/telemetry/prometheus/rooms.go) and checked against the running binary by
// operator/test/media/livekit.test.ts. Every series carries the constant labels
// node_id="ND_..." and node_type="SERVER". See hack/media/README.md for the measured behaviour.
export const LIVEKIT_METRICS = {
  /**
   * Gauge: participant sessions on this node, i.e. the participants of the rooms it hosts, plus
   * the participants whose signalling WebSocket it terminates for a room hosted on another node
   * (those are counted on both nodes: do not sum over nodes to count people). Drops within a
   * second when a participant leaves.
   */
  participants: 'livekit_participant_total',
  /**
   * Gauge: rooms hosted on this node (a room lives on exactly one node: the sum over nodes is what
   * RoomService.ListRooms returns). An empty room stays until departure_timeout (20 s) after its
   * last participant left, or empty_timeout after creation when nobody joined.
   */
  rooms: 'livekit_room_total',
  /** Gauge: tracks published to rooms on this node, label kind="AUDIO"|"VIDEO". */
  publishedTracks: 'livekit_track_published_total',
  /** Gauge: track subscriptions served by this node, label kind="AUDIO"|"VIDEO". */
  subscribedTracks: 'livekit_track_subscribed_total',
} as const;

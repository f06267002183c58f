// Where rendered files are mounted inside the pods. The local media harness reads the same
// constants, so what runs there is what runs in the cluster.
export const LIVEKIT_CONFIG_DIR = '/etc/livekit';
export const LIVEKIT_CONFIG_FILE = 'livekit.yaml';
export const LIVEKIT_KEYS_DIR = '/etc/livekit/keys';
export const LIVEKIT_TURN_SECRET_DIR = '/etc/livekit/turn';
export const LIVEKIT_TLS_DIR = '/etc/livekit/tls';
export const TURN_CONFIG_DIR = '/etc/coturn';
export const TURN_CONFIG_FILE = 'turnserver.conf';
export const TURN_TLS_DIR = '/etc/coturn/tls';
export const TURN_RUN_DIR = '/var/tmp/coturn';
/** The shared secret, mounted from its Secret (0440, group = fsGroup) for the start script to read. */
export const TURN_SECRET_DIR = '/etc/coturn/secret';
/** File name of the TURN shared secret wherever it is mounted (coturn and LiveKit). */
export const TURN_SECRET_FILE = 'secret';
export const REDIS_CONFIG_DIR = '/etc/redis';
export const REDIS_CONFIG_FILE = 'redis.conf';
export const REDIS_DATA_DIR = '/data';
/** The password, mounted from its Secret for the start script to read. */
export const REDIS_AUTH_DIR = '/etc/redis/auth';
export const REDIS_AUTH_FILE = 'password';
/** Memory-backed: the composed redis.conf holds the password. */
export const REDIS_RUN_DIR = '/var/run/redis';
/** TURN/TLS listener inside the pod; the load balancer maps spec.turn.tlsPort (443) onto it. */
export const TURN_TLS_LISTEN_PORT = 5349;
export const REDIS_PORT = 6379;
/** Files holding secrets: readable by the pod's group (fsGroup), never by others (LiveKit checks). */
export const SECRET_FILE_MODE = 0o440;

// The STT pool (moshi-server) and the subtitle agent (spec.subtitles).
export const STT_CONFIG_DIR = '/etc/moshi';
export const STT_CONFIG_FILE = 'moshi.toml';
export const STT_KEY_DIR = '/etc/moshi/key';
export const STT_KEY_FILE = 'api-key';
/** Memory-backed: the composed configuration (it holds the API key), logs, the (empty) static dir. */
export const STT_RUN_DIR = '/run/moshi';
export const STT_MODEL_DIR = '/models';
/** The model's own part of moshi-server's [modules.asr] (delay, conditioning, [modules.asr.model]), in the model directory. */
export const STT_MODEL_CONFIG_FILE = 'moshi-asr.toml';
export const STT_PORT = 8080;
export const STT_PATH = '/api/asr-streaming';
/** LiveKit agents' health server (livekit-agents and @livekit/agents alike). */
export const AGENT_HEALTH_PORT = 8081;

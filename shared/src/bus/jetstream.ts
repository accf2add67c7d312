/**
 * Where jobs live on the bus: one JetStream key-value bucket of job records
 * and one object store of finished videos per model, and the JetStream
 * subjects the coordinator needs to use them and nothing more. Only the
 * coordinator holds these permissions; workers and the launcher never see a
 * job. Pure functions: no NATS here.
 *
 * A KV bucket `B` is the stream `KV_B` on `$KV.B.>`; an object store `O` is
 * the stream `OBJ_O` on `$O.O.C.>` (chunks) and `$O.O.M.>` (metadata). The
 * clients (`@nats-io/kv`, `@nats-io/obj`) reach them through the JetStream
 * API (`$JS.API.…`, answered on the caller's inbox); the object store reads a
 * video with an ordered push consumer that delivers to the caller's inbox,
 * asks for flow control on `$JS.FC.<stream>.…` and acks nothing
 * (`ack_policy: none`).
 */

/** The KV bucket of a model's job records: `spool-jobs-<model>`. */
export function jobsBucket(model: string): string {
  return `spool-jobs-${checkModel(model)}`;
}

/** The object store of a model's finished videos: `spool-videos-<model>`. */
export function videosBucket(model: string): string {
  return `spool-videos-${checkModel(model)}`;
}

/** The stream behind a KV bucket. */
export function kvStream(bucket: string): string {
  return `KV_${bucket}`;
}

/** The stream behind an object store. */
export function objectStream(bucket: string): string {
  return `OBJ_${bucket}`;
}

/**
 * What the coordinator publishes to use its two buckets. Each line says what
 * needs it (each was seen refused without it); anything else of JetStream
 * (account info, other streams, listing or deleting streams, consumers on
 * the records, deleting consumers, acks) stays refused.
 */
export function jobStoreSubjects(model: string): string[] {
  const records = jobsBucket(model);
  const videos = videosBucket(model);
  const kv = kvStream(records);
  const obj = objectStream(videos);
  return [
    // ensure a bucket exists with its limits: look, create, bring its limits up to date;
    // list job records (the subjects the records stream holds, as stream info)
    ...[kv, obj].flatMap((s) => [`$JS.API.STREAM.INFO.${s}`, `$JS.API.STREAM.CREATE.${s}`, `$JS.API.STREAM.UPDATE.${s}`]),
    // write a record (put, delete marker) and a video's chunks and metadata
    `$KV.${records}.>`,
    `$O.${videos}.>`,
    // read a record (direct get of a key's last value)
    `$JS.API.DIRECT.GET.${kv}.>`,
    // read a video's metadata (last message of its metadata subject)
    `$JS.API.STREAM.MSG.GET.${obj}`,
    // drop a replaced or deleted video's chunks
    `$JS.API.STREAM.PURGE.${obj}`,
    // read a video's chunks: an ordered push consumer that delivers to the inbox and expires
    // on its own once idle (so no delete), and its flow control (unanswered, a read stalls)
    `$JS.API.CONSUMER.CREATE.${obj}.>`,
    `$JS.FC.${obj}.>`,
  ];
}

function checkModel(model: string): string {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(model)) throw new RangeError(`model name "${model}" is not a valid bucket name part`);
  return model;
}

/**
 * The schemas of the /v1/videos routes besides the body (`videos-body.ts`)
 * and the video object (`video-object.ts`): the id in the path, the list's
 * query and answer, the delete answer, the MP4 and the event stream.
 */
import type { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './store.ts';
import { VideoObject } from './video-object.ts';

export const JobIdParams = Type.Object({
  id: Type.String({ description: 'The job id (`video_…`) POST /v1/videos answered with', examples: ['video_0193b5a3c2e1a4c2f9e07b1d2c3e4f50'] }),
});

export const ListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE, description: 'Jobs on the page' })),
  after: Type.Optional(Type.String({ description: 'The id of the last job of the previous page (its `last_id`): the page starts after it' })),
  order: Type.Optional(Type.Unsafe<'desc' | 'asc'>({ type: 'string', enum: ['desc', 'asc'], default: 'desc', description: 'desc: newest first; asc: oldest first' })),
});

export const VideoList = Type.Object(
  {
    object: Type.Literal('list'),
    data: Type.Array(VideoObject),
    first_id: Type.Union([Type.String(), Type.Null()], { description: 'The id of the first job on the page; null on an empty page' }),
    last_id: Type.Union([Type.String(), Type.Null()], { description: 'The id of the last job on the page: pass it as `after` for the next page' }),
    has_more: Type.Boolean({ description: 'More jobs follow this page' }),
  },
  { additionalProperties: false, description: "A page of the token's jobs" },
);

export const ContentQuery = Type.Object({
  variant: Type.Optional(
    Type.Unsafe<'video' | 'thumbnail' | 'spritesheet'>({ type: 'string', enum: ['video', 'thumbnail', 'spritesheet'], description: "OpenAI's asset to download; only `video` (the default) is served" }),
  ),
});

export const DeletedVideo = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('video.deleted'),
    deleted: Type.Boolean({ description: 'true: the job and its video are gone. false: it was queued or running and is cancelled instead (see `cancelled`)' }),
    cancelled: Type.Boolean({
      description: 'true: the job was queued or running, and is stopped (within one step) and kept as failed with SPOOL_ERR_CANCELLED; DELETE it again to remove it',
    }),
  },
  { additionalProperties: false, description: "OpenAI's delete answer, and whether the job was cancelled instead" },
);

/** Sent as a stream from the job store. */
export const Mp4 = Type.Unsafe<Readable>({ type: 'string', format: 'binary', contentMediaType: 'video/mp4', description: 'The video, H.264 in MP4' });

export const EVENT_STREAM_DESCRIPTION =
  'Server-Sent Events. Each event is `event: <type>` and `data: <JSON>`, the JSON being the video object with `phase` (`queued`, `encoding`, `denoising`, `decoding`, `completed`, `failed`), ' +
  '`step` and `steps`. Types: `phase` (the state at once, then each phase change), `step` (each denoising step), and one last event, `completed` (the video is stored; ' +
  '`content_url` says where to download it) or `failed` (with `error`; a cancelled job fails with SPOOL_ERR_CANCELLED); then the stream closes. `: keep-alive` comment lines ' +
  'come while nothing else does. A stream that closes without a last event means the coordinator stopped (the job runs again when it restarts: connect again); one that cannot go on ' +
  'ends with `event: error` and `{code, message}`.';

/** Sent as a stream. */
export const EventStream = Type.Unsafe<Readable>({ type: 'string', description: EVENT_STREAM_DESCRIPTION, examples: ['event: step\ndata: {"id":"video_…","object":"video","status":"in_progress","progress":46,"phase":"denoising","step":15,"steps":30,…}\n\n'] });

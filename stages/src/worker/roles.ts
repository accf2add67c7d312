/** Role → loader. Loaded lazily so a worker only imports what its role needs (the video encoder needs no onnxruntime). */
import type { StageRole } from '@spool/shared';
import type { RoleLoader } from './role.ts';

export async function roleLoader(role: StageRole): Promise<RoleLoader> {
  switch (role) {
    case 'text-encoder':
      return (await import('../text-encoder/role.ts')).loadTextEncoderRole;
    case 'denoiser':
      return (await import('../denoiser/role.ts')).loadDenoiserRole;
    case 'vae-decoder':
      return (await import('../vae-decoder/role.ts')).loadVaeDecoderRole;
    case 'video-encoder':
      return (await import('../video-encoder/role.ts')).loadVideoEncoderRole;
  }
}

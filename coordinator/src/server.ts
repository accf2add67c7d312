/** Listening: the only place the app meets a port. */
import type { FastifyInstance } from 'fastify';

export async function listen(app: FastifyInstance, host: string, port: number): Promise<string> {
  return app.listen({ host, port });
}

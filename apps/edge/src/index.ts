export default {
  fetch(): Response {
    return new Response("gearbox edge: not implemented yet", { status: 501 });
  },
};

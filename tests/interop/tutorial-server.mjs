// The tutorial's chat server (../shared/seed/websockets-chat-slides.txt), reproduced line for
// line in plain JavaScript: socket.io 4 on Node's http server, CORS for the Vite page on 5175,
// `chat-message` → `message` to everyone, `join` → `user-joined` to everyone else. No acks, no
// validation, no history. The only change: PORT may override 3050 so tests can run in parallel.
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const port = Number(process.env.PORT ?? 3050);
const server = createServer();
const io = new Server(server, {
  cors: {
    origin: 'http://localhost:5175',
    methods: ['GET', 'POST'],
  },
});

io.on('connection', (socket) => {
  let currentUsername = '';

  socket.on('chat-message', (data) => {
    const message = {
      id: `${socket.id}-${Date.now()}`,
      username: data.username,
      text: data.text,
      timestamp: new Date(),
    };
    io.emit('message', message);
  });

  socket.on('join', (username) => {
    currentUsername = username;
    console.log(`${username} joined the chat`);
    socket.broadcast.emit('user-joined', username);
  });
});

server.listen(port, () => {
  console.log(`Server Running in http://localhost:${port}`);
});

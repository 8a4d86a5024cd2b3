//! skynet_socket.h and socket_info.h (placeholder until the socket server lands).

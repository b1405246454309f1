/* STAND-IN for the Arduino core's SPI library (tests only): the types Arduino's IMU libraries name. */
#ifndef KIT_STUB_SPI_H
#define KIT_STUB_SPI_H
class SPIClass {};
#endif
